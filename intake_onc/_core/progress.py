"""The progress-bar class: tqdm's notebook bar where ipywidgets can draw it, else the text bar.

``tqdm.auto`` picks the notebook bar inside Jupyter and warns ("IProgress not found") when
ipywidgets is missing; choosing here keeps notebooks free of that warning.

Examples
--------
>>> bar_class = tqdm_class()
>>> bar_class.__name__ in ("tqdm", "tqdm_notebook")
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["tqdm_class"]


def tqdm_class() -> Any:
    """``tqdm.auto.tqdm`` when ipywidgets is installed, else ``tqdm.tqdm``."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        from tqdm import tqdm

        return tqdm
    from tqdm.auto import tqdm

    return tqdm
