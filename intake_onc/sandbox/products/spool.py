"""Product files kept on disk instead of in memory.

A run's files are ``(name, body)`` pairs where ``body`` is ``bytes`` (small files) or a
:class:`FileBody` (a file under the run's temporary directory): ``len(body)`` is the size either
way, so the ``meta`` file and the listings need not know which. The server streams a
:class:`FileBody` to the socket in pieces and removes the directory when the run expires or the
server stops.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FileBody", "spill"]


class FileBody:
    """A product file on disk: ``path`` and ``size`` (``len()``); :meth:`read` gives the bytes."""

    __slots__ = ("path", "size")

    def __init__(self, path: str | os.PathLike[str], size: int | None = None) -> None:
        self.path = Path(path)
        self.size = int(self.path.stat().st_size if size is None else size)

    def __len__(self) -> int:
        return self.size

    def read(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        return f"FileBody({self.path.name!r}, {self.size} bytes)"


def spill(
    files: list[tuple[str, bytes | FileBody]], directory: str | os.PathLike[str], limit: int
) -> list[tuple[str, bytes | FileBody]]:
    """``files`` with every in-memory body larger than ``limit`` bytes written under
    ``directory`` (as ``<i>-<name>``) and replaced by its :class:`FileBody`."""
    out: list[tuple[str, bytes | FileBody]] = []
    for i, (name, body) in enumerate(files):
        if isinstance(body, (bytes, bytearray)) and len(body) > limit:
            path = Path(directory) / f"{i:04d}-{name}"
            with open(path, "wb") as f:
                f.write(body)
            body = FileBody(path, len(body))
        out.append((name, body))
    return out
