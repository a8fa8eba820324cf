"""matplotlib, imported only when a figure is drawn (it is an optional dependency).

Examples
--------
>>> plt = require_matplotlib()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["require_matplotlib"]


def require_matplotlib() -> Any:
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError(
            "plotting needs matplotlib: pip install 'intake-onc[plot]' (or pip install matplotlib)"
        ) from None
    return plt
