"""``.onc`` on xarray objects, whatever the order of ``import intake_onc`` and ``import xarray``.

The accessors must not make ``import intake_onc`` (and so ``import intake``, whose entry point
imports it) pay for xarray. So:

* if xarray is already imported, :func:`register` runs at once;
* otherwise a one-shot import hook waits for xarray: when ``import xarray`` finishes, it
  registers the accessors and removes itself.

Registering costs a few milliseconds: the accessor classes import their operations on first use.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

__all__ = ["install", "register"]

_registered = False


def register() -> None:
    """Register ``Dataset.onc`` (scalar operations) and ``DataArray.onc`` (audio windows)."""
    global _registered
    if _registered:
        return
    _registered = True
    import xarray as xr

    from intake_onc.acoustics.accessor import AudioAccessor
    from intake_onc.scalar.accessor import OncAccessor

    with warnings.catch_warnings():  # a re-registration (reload) replaces it quietly
        warnings.simplefilter("ignore")
        xr.register_dataset_accessor("onc")(OncAccessor)
        xr.register_dataarray_accessor("onc")(AudioAccessor)


class _RegisterAfterLoad(importlib.abc.Loader):
    """Wraps xarray's own loader: runs it, then registers the accessors."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        register()


class _XarrayHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself; for ``xarray`` it asks the other finders and wraps the loader."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # type: ignore[override]
        if fullname != "xarray":
            return None
        _uninstall()
        spec = importlib.util.find_spec("xarray")
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RegisterAfterLoad(spec.loader)
        return spec


_HOOK = _XarrayHook()


def _uninstall() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def install() -> None:
    """Register now if xarray is loaded, else when it is first imported."""
    if "xarray" in sys.modules:
        register()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
