"""The ``.onc`` DataArray accessor for audio windows: write, clip, coverage, spectrogram.

``audio.onc`` exists as soon as both intake_onc and xarray are imported, in either order (see
:mod:`intake_onc._accessors`). Each method imports its operation on first use.

Examples
--------
>>> audio.onc.to_flac("clip.flac")  # doctest: +SKIP
>>> audio.onc.spectrogram(win_dur=1.0, overlap=0.5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

__all__ = ["AudioAccessor"]


class AudioAccessor:
    """``DataArray.onc`` for audio windows: ``to_wav``, ``to_flac``, ``clip``, ``coverage``."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._audio = obj

    def to_wav(self, path: str | os.PathLike, subtype: str = "PCM_24") -> Path:
        """Write the window to a WAV file (24-bit by default); see
        :func:`intake_onc.acoustics.clips.write_audio`."""
        from intake_onc.acoustics.clips import write_audio

        return write_audio(self._audio, path, format="WAV", subtype=subtype)

    def to_flac(self, path: str | os.PathLike, subtype: str = "PCM_24") -> Path:
        """Write the window to a FLAC file (24-bit by default); see
        :func:`intake_onc.acoustics.clips.write_audio`."""
        from intake_onc.acoustics.clips import write_audio

        return write_audio(self._audio, path, format="FLAC", subtype=subtype)

    def clip(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """See :func:`intake_onc.acoustics.clips.clip`."""
        from intake_onc.acoustics.clips import clip

        return clip(self._audio, *args, **kwargs)

    def coverage(self, by: str = "file") -> pd.DataFrame:
        """See :func:`intake_onc.acoustics.clips.coverage`."""
        from intake_onc.acoustics.clips import coverage

        return coverage(self._audio, by)

    def spectrogram(self, **kwargs: Any) -> xr.DataArray:
        """See :func:`intake_onc.acoustics.spectrogram.spectrogram`."""
        from intake_onc.acoustics.spectrogram import spectrogram

        return spectrogram(self._audio, **kwargs)

    def plot(self, **kwargs: Any) -> Any:
        """Draw a ``(time, frequency)`` spectrogram; see
        :func:`intake_onc.acoustics.plot.plot_spectrogram`."""
        from intake_onc.acoustics.plot import plot_spectrogram

        return plot_spectrogram(self._audio, **kwargs)
