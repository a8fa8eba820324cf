"""intake-onc: Ocean Networks Canada (Oceans 3.0) data as lazy, dask-chunked xarray objects.

The top level is lazy (PEP 562): ``import intake_onc`` (which ``import intake`` triggers through
the ``intake.imports`` entry point) loads nothing heavy; each name below is imported on first use.

Examples
--------
>>> import intake_onc
>>> intake_onc.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from intake_onc import _accessors

__version__ = "0.1.0"

#: public name -> "module:attribute" (attribute omitted: the module itself)
_LAZY: dict[str, str] = {
    "sandbox": "intake_onc.sandbox",
    "ONCClient": "intake_onc.client:ONCClient",
    "DataProductOrder": "intake_onc.client:DataProductOrder",
    "ONCError": "intake_onc.client:ONCError",
    "NotDeployedError": "intake_onc.client:NotDeployedError",
    "FileFormatError": "intake_onc._core.errors:FileFormatError",
    "open_scalar": "intake_onc.datasets.scalar:open_scalar",
    "open_audio": "intake_onc.datasets.hydrophone:open_audio",
    "open_spectrogram": "intake_onc.datasets.hydrophone:open_spectrogram",
    "read_tssd": "intake_onc.scalar.tssd:read_tssd",
    "open_hsd_files": "intake_onc.acoustics.hsd:open_hsd_files",
    "open_audio_files": "intake_onc.acoustics.windows:open_audio_files",
    "clip": "intake_onc.acoustics.clips:clip",
    "coverage": "intake_onc.acoustics.clips:coverage",
    "spectrogram": "intake_onc.acoustics.spectrogram:spectrogram",
    "SpectrogramGenerator": "intake_onc.acoustics.spectrogram:SpectrogramGenerator",
    "speedups": "intake_onc.acoustics._stft:speedups",
    "catalog": "intake_onc.catalogs:catalog",
    "ONCCatalog": "intake_onc.readers.tree:ONCCatalog",
    "Window": "intake_onc.downloads:Window",
    "RequestError": "intake_onc.downloads:RequestError",
    "parse_requests": "intake_onc.downloads:parse_requests",
    "windows": "intake_onc.downloads:windows",
    "sample_windows": "intake_onc.downloads:sample_windows",
    "check_windows": "intake_onc.downloads:check_windows",
    "fetch": "intake_onc.downloads:fetch",
    "FetchResult": "intake_onc.downloads:FetchResult",
    "open_events": "intake_onc.downloads:open_events",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs: the names _LAZY resolves
    from intake_onc import sandbox
    from intake_onc._core.errors import FileFormatError
    from intake_onc.acoustics._stft import speedups
    from intake_onc.acoustics.clips import clip, coverage
    from intake_onc.acoustics.hsd import open_hsd_files
    from intake_onc.acoustics.spectrogram import SpectrogramGenerator, spectrogram
    from intake_onc.acoustics.windows import open_audio_files
    from intake_onc.catalogs import catalog
    from intake_onc.client import DataProductOrder, NotDeployedError, ONCClient, ONCError
    from intake_onc.datasets.hydrophone import open_audio, open_spectrogram
    from intake_onc.datasets.scalar import open_scalar
    from intake_onc.downloads import (
        FetchResult,
        RequestError,
        Window,
        check_windows,
        fetch,
        open_events,
        parse_requests,
        sample_windows,
        windows,
    )
    from intake_onc.readers.tree import ONCCatalog
    from intake_onc.scalar.tssd import read_tssd


def __getattr__(name: str) -> Any:
    try:
        target = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'intake_onc' has no attribute {name!r}") from None
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


# ``ds.onc`` / ``audio.onc``: registered now if xarray is loaded, else as soon as it is imported
# (a one-shot import hook), so ``import intake`` never pays for xarray.
_accessors.install()
