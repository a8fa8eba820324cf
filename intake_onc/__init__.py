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

__version__ = "0.1.0"

#: public name -> "module:attribute" (attribute omitted: the module itself)
_LAZY: dict[str, str] = {
    "sandbox": "intake_onc.sandbox",
    "ONCClient": "intake_onc.client:ONCClient",
    "DataProductOrder": "intake_onc.client:DataProductOrder",
    "ONCError": "intake_onc.client:ONCError",
    "NotDeployedError": "intake_onc.client:NotDeployedError",
    "open_scalar": "intake_onc.datasets:open_scalar",
    "open_audio": "intake_onc.datasets:open_audio",
    "open_spectrogram": "intake_onc.datasets:open_spectrogram",
    "read_tssd": "intake_onc.formats.tssd:read_tssd",
    "open_hsd_files": "intake_onc.formats.hsd:open_hsd_files",
    "open_audio_files": "intake_onc.audio:open_audio_files",
    "clip": "intake_onc.audio:clip",
    "spectrogram": "intake_onc.spectrograms:spectrogram",
    "SpectrogramGenerator": "intake_onc.spectrograms:SpectrogramGenerator",
    "speedups": "intake_onc._stft:speedups",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from intake_onc import sandbox  # noqa: F401


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


def _register_accessors() -> None:
    """Register the ``.onc`` accessors on xarray objects (imports xarray)."""
    for module_name in ("intake_onc.ops", "intake_onc.audio"):
        importlib.import_module(module_name)


# ``ds.onc`` needs the accessors registered. Doing it here unconditionally would import xarray on
# every ``import intake`` (the entry point imports this package); so register now only when
# xarray is already loaded, and otherwise when any intake_onc dataset function is first used.
if "xarray" in __import__("sys").modules:
    _register_accessors()
