"""The Intake catalogs shipped with intake-onc, found wherever the package is installed.

The YAML files live in the repository's top-level ``catalogs/`` folder, which the wheel installs
as the data package ``intake_onc._catalogs``; :func:`catalog` finds them through
:mod:`importlib.resources` in a wheel and an editable install alike.

Examples
--------
>>> sorted(available_catalogs())
['onc', 'sandbox']
>>> catalog("onc").name
'onc.yaml'
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["available_catalogs", "catalog"]

_PACKAGE = "intake_onc._catalogs"


def _folder() -> Path:
    return Path(str(importlib.resources.files(_PACKAGE)))


def available_catalogs() -> list[str]:
    """Names of the shipped catalogs (``"onc"`` for ``onc.yaml``), sorted."""
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def catalog(name: str = "onc") -> Path:
    """Path of a shipped Intake catalog, to give to :func:`intake.open_catalog`.

    Parameters
    ----------
    name
        The catalog's name: ``"onc"`` (the ONC devices the README uses). A trailing ``.yaml``
        is accepted.

    Returns
    -------
    pathlib.Path
        The YAML file inside the installed package.

    Raises
    ------
    ValueError
        When no shipped catalog has that name; the message lists those that exist.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog(catalog("onc"))  # doctest: +SKIP
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r}: expected a catalog name such as 'onc'")
    stem = name[:-5] if name.endswith(".yaml") else name
    path = _folder() / f"{stem}.yaml"
    if not path.is_file():
        raise ValueError(
            f"name={name!r}: no shipped catalog of that name; available: "
            f"{', '.join(available_catalogs())}"
        )
    return path
