"""File arguments: one path, a glob pattern, a folder or a list of paths, checked the same way.

Every reader of local files (``read_tssd``, ``open_hsd_files``, ``open_audio_files``,
``read_hsd_mat``) takes its files through :func:`expand_paths` or :func:`check_path`, so they
accept the same forms and refuse anything else with a message naming the argument.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("b.csv", "a.csv", "notes.txt"):
...     _ = (folder / name).write_text("")
>>> [pathlib.Path(p).name for p in expand_paths(folder, argument="paths", suffixes=(".csv",))]
['a.csv', 'b.csv']
>>> expand_paths(None, argument="paths", suffixes=(".csv",))
Traceback (most recent call last):
...
TypeError: paths: expected a file path, a glob pattern, a folder or a list of file paths, got NoneType (None)
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["check_path", "expand_paths"]

_FORMS = "a file path, a glob pattern, a folder or a list of file paths"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_path(value: object, *, argument: str) -> str:
    """One path argument (``str`` or ``os.PathLike``) as a string; anything else is a TypeError.

    Examples
    --------
    >>> check_path(Path("a.mat"), argument="path")
    'a.mat'
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{argument}: expected a file path (str or pathlib.Path), got "
            f"{type(value).__name__} ({_shown(value)})"
        )
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise TypeError(f"{argument}: expected a non-empty file path, got {_shown(value)}")
    return path


def expand_paths(
    value: object,
    *,
    argument: str,
    suffixes: tuple[str, ...],
    folders: bool = True,
    what: str = "files",
) -> list[str]:
    """The existing files an argument names, in order.

    Parameters
    ----------
    value
        One path, a glob pattern (``"data/*.csv"``), a folder (its files whose suffix is one of
        ``suffixes``, sorted by name), or an iterable of paths and patterns.
    argument
        The argument's name, for messages.
    suffixes
        Lower-case suffixes (``(".mat",)``) of the files a folder contributes.
    folders
        Whether a folder is accepted (else it is refused with a glob pattern to use instead).
    what
        What the files are, for messages (``"TSSD files"``).

    Raises
    ------
    TypeError
        When ``value`` (or an item of it) is not a path.
    FileNotFoundError
        When a path or pattern matches no file, or a folder holds no such file.
    ValueError
        When no file is given at all.
    """
    if isinstance(value, (str, os.PathLike)):
        items: list[object] = [value]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray, Mapping)):
        items = list(value)
    else:
        raise TypeError(
            f"{argument}: expected {_FORMS}, got {type(value).__name__} ({_shown(value)})"
        )
    paths: list[str] = []
    for item in items:
        path = check_path(item, argument=argument)
        if os.path.isdir(path):
            pattern = os.path.join(path, "*" + (suffixes[0] if suffixes else ""))
            if not folders:
                raise IsADirectoryError(
                    f"{argument}: {path!r} is a folder; pass its files, e.g. {pattern!r}"
                )
            found = sorted(
                str(p) for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in suffixes
            )
            if not found:
                raise FileNotFoundError(
                    f"{argument}: no {'/'.join(suffixes)} files in {path!r}; check the folder "
                    "or pass the files explicitly"
                )
            paths.extend(found)
        elif os.path.exists(path):
            paths.append(path)
        elif glob.has_magic(path) and (matches := sorted(glob.glob(path))):
            paths.extend(m for m in matches if not os.path.isdir(m))
        else:
            raise FileNotFoundError(
                f"{argument}: no file {path!r}; pass existing {what} or a glob pattern"
            )
    if not paths:
        raise ValueError(f"{argument}: expected at least one of the {what}, got none")
    return paths
