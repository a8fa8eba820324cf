"""Lazy dataset assembly: remote ONC data as dask-backed xarray objects (client + formats).

>>> from intake_onc.datasets import open_scalar
>>> ds = open_scalar("SBECTD19p6813", start="2024-04-01", end="2024-04-02")  # doctest: +SKIP
>>> from intake_onc.datasets import open_audio, open_spectrogram
>>> audio = open_audio("ICLISTENHF6093", "2024-04-01T00:00Z", "2024-04-01T00:10Z")  # doctest: +SKIP
"""

from intake_onc.datasets.hydrophone import open_audio, open_spectrogram
from intake_onc.datasets.scalar import open_scalar

__all__ = ["open_audio", "open_scalar", "open_spectrogram"]
