"""MAT v5 files, checked before scipy reads them: a damaged file is an error, never a crash.

``scipy.io.loadmat`` trusts the sizes written inside a MAT file. A file with a few flipped bits
(a size larger than the file, a dimension that disagrees with the data, a field-name length of
zero) made it raise bare ``IndexError``/``UnboundLocalError``/``MatReadError`` without the file
name, and in 4 of 13 runs of one 16-bit-flip example it killed the interpreter with a
segmentation fault in scipy's compiled reader. :func:`load_mat5` walks the file's structure first
(the MAT v5 layout of MathWorks' "MAT-File Format" document: a 128-byte header, then tagged data
elements, ``miCOMPRESSED`` ones inflated with a size bound) and checks that every element fits in
its parent and that every array's data agree with its dimensions; only a file that passes is
handed to scipy, and anything scipy still raises becomes a :class:`FileFormatError` naming the
file.

The check accepts what ONC writes (numeric, logical, char, cell and struct arrays, compressed or
not) and refuses the rest (objects, function handles, sparse arrays, v7.3/HDF5 files).

Examples
--------
>>> import io, numpy as np, scipy.io
>>> buffer = io.BytesIO()
>>> scipy.io.savemat(buffer, {"x": np.arange(3.0)})
>>> load_mat5(buffer.getvalue(), "x.mat")["x"].tolist()
[0.0, 1.0, 2.0]
>>> load_mat5(buffer.getvalue()[:150], "x.mat")
Traceback (most recent call last):
...
intake_onc._core.errors.FileFormatError: x.mat: expected a MAT v5 file whose elements fit in it, found 'element at byte 128 declares 72 bytes, 14 remain'; the file is truncated or damaged: download it again
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from typing import Any

from intake_onc._core.errors import FileFormatError

__all__ = ["MAX_INFLATED_BYTES", "check_mat5", "load_mat5"]

#: The most a compressed element may inflate to (a 5-minute HSD at full resolution is ~150 MB).
MAX_INFLATED_BYTES = 2 * 1024**3
_MAX_DEPTH = 32

# Data types (miINT8 ... miUTF32) and their item sizes; 14 is miMATRIX, 15 miCOMPRESSED.
_ITEM = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MATRIX, _COMPRESSED = 14, 15
# Array classes: 1 cell, 2 struct, 4 char, 6..15 numeric (double, single, int8..uint64).
_CELL, _STRUCT, _CHAR = 1, 2, 4
_NUMERIC = set(range(6, 16))
_EXPECTED = "a MAT v5 file whose elements fit in it"
_HINT = "the file is truncated or damaged: download it again"


class _Bad(Exception):
    """A structural problem, with what was found; turned into a FileFormatError by the caller."""


def _tag(buf: bytes, pos: int, end: int, fmt: str) -> tuple[int, int, int, int]:
    """(type, nbytes, data start, next element) of the element at ``pos``."""
    if end - pos < 8:
        raise _Bad(f"element tag at byte {pos} is cut short ({end - pos} bytes remain)")
    word, nbytes = struct.unpack_from(fmt + "II", buf, pos)
    if word >> 16:  # small data element: type and size packed in the first word, data in 4 bytes
        dtype, nbytes = word & 0xFFFF, word >> 16
        if nbytes > 4:
            raise _Bad(f"small element at byte {pos} declares {nbytes} bytes (at most 4)")
        return dtype, nbytes, pos + 4, pos + 8
    dtype = word
    start = pos + 8
    if nbytes > end - start:
        raise _Bad(f"element at byte {pos} declares {nbytes} bytes, {end - start} remain")
    padded = nbytes if dtype == _COMPRESSED else (nbytes + 7) // 8 * 8
    return dtype, nbytes, start, min(start + padded, end)


def _sub(buf: bytes, pos: int, end: int, fmt: str, want: tuple[int, ...], what: str):
    dtype, nbytes, start, nxt = _tag(buf, pos, end, fmt)
    if dtype not in want:
        raise _Bad(f"{what} at byte {pos} has data type {dtype}, expected one of {want}")
    return dtype, nbytes, start, nxt


def _matrix(buf: bytes, start: int, end: int, fmt: str, depth: int) -> None:
    """Check one miMATRIX element's content ``buf[start:end]``."""
    if depth > _MAX_DEPTH:
        raise _Bad(f"arrays nested deeper than {_MAX_DEPTH} levels")
    if start == end:  # an empty matrix element (scipy writes these for empty cells)
        return
    _, n, s, pos = _sub(buf, start, end, fmt, (6,), "array flags")
    if n != 8:
        raise _Bad(f"array flags at byte {start} hold {n} bytes, expected 8")
    flags = struct.unpack_from(fmt + "I", buf, s)[0]
    cls, complex_ = flags & 0xFF, bool(flags & 0x800)
    if cls not in _NUMERIC | {_CELL, _STRUCT, _CHAR}:
        raise _Bad(f"array class {cls} at byte {start} (objects, sparse, ... are not ONC data)")
    _, n, s, pos = _sub(buf, pos, end, fmt, (5,), "dimensions")
    if n % 4 or n < 8:
        raise _Bad(f"dimensions at byte {s - 8} hold {n} bytes (a multiple of 4, at least 8)")
    dims = struct.unpack_from(f"{fmt}{n // 4}i", buf, s)
    if min(dims) < 0:
        raise _Bad(f"negative dimension {dims} at byte {s}")
    count = 1
    for d in dims:
        count *= d
    _, n, s, pos = _sub(buf, pos, end, fmt, (1,), "array name")
    if cls in _NUMERIC or cls == _CHAR:
        for _ in range(2 if complex_ else 1):  # real, then imaginary part
            dtype, n, s, pos = _tag(buf, pos, end, fmt)
            if dtype not in _ITEM:
                raise _Bad(f"array data at byte {s} has data type {dtype}")
            if cls == _CHAR and dtype in (16, 17):  # UTF-8/UTF-16: 1-4 bytes a character
                if not count * _ITEM[dtype] <= n <= 4 * count:
                    raise _Bad(f"text at byte {s} holds {n} bytes for {count} characters")
            elif n != count * _ITEM[dtype]:
                raise _Bad(
                    f"array data at byte {s} hold {n} bytes, but dimensions {dims} of data type "
                    f"{dtype} need {count * _ITEM[dtype]}"
                )
        return
    if cls == _CELL:
        for _ in range(count):
            dtype, _, s, pos = _sub(buf, pos, end, fmt, (_MATRIX,), "cell element")
            _matrix(buf, s, pos, fmt, depth + 1)
        return
    _, n, s, pos = _sub(buf, pos, end, fmt, (5,), "field name length")  # a struct
    if n != 4:
        raise _Bad(f"field name length at byte {s} holds {n} bytes, expected 4")
    length = struct.unpack_from(fmt + "i", buf, s)[0]
    if not 0 < length <= 4096:
        raise _Bad(f"field name length {length} at byte {s}")
    _, n, s, pos = _sub(buf, pos, end, fmt, (1,), "field names")
    if n % length:
        raise _Bad(f"field names at byte {s} hold {n} bytes, not a multiple of {length}")
    for _ in range(count * (n // length)):
        dtype, _, s, pos = _sub(buf, pos, end, fmt, (_MATRIX,), "struct field")
        _matrix(buf, s, pos, fmt, depth + 1)


def _elements(buf: bytes, pos: int, end: int, fmt: str, depth: int) -> None:
    """Check the top-level elements of ``buf[pos:end]``."""
    while pos < end:
        if end - pos < 8 and not any(buf[pos:end]):
            return  # trailing padding
        dtype, nbytes, start, nxt = _tag(buf, pos, end, fmt)
        if dtype == _COMPRESSED:
            inflater = zlib.decompressobj()
            try:
                inner = inflater.decompress(buf[start : start + nbytes], MAX_INFLATED_BYTES)
            except zlib.error as exc:
                raise _Bad(f"compressed element at byte {pos}: {exc}") from None
            if inflater.unconsumed_tail:
                raise _Bad(f"compressed element at byte {pos} inflates past {MAX_INFLATED_BYTES}")
            if depth:
                raise _Bad(f"compressed element at byte {pos} inside a compressed element")
            _elements(inner, 0, len(inner), fmt, depth + 1)
        elif dtype == _MATRIX:
            _matrix(buf, start, start + nbytes, fmt, 0)
        else:
            raise _Bad(f"top-level element at byte {pos} has data type {dtype}, not an array")
        pos = nxt


def check_mat5(data: bytes, name: str | os.PathLike[str] = "<bytes>") -> None:
    """Check the structure of a MAT v5 file's bytes; raise :class:`FileFormatError` if damaged.

    Parameters
    ----------
    data
        The whole file.
    name
        The file's name, for the message.

    Raises
    ------
    FileFormatError
        Naming the file, what is wrong and where (byte offset).
    """
    if len(data) < 128:
        raise FileFormatError(name, None, "a MAT v5 file", found=f"{len(data)} bytes", hint=_HINT)
    if data[:19] == b"MATLAB 7.3 MAT-file" or data[:8] == b"\x89HDF\r\n\x1a\n":
        raise FileFormatError(
            name, None, "a MAT v5 file", found="MAT v7.3 (HDF5)", hint="re-save with save('-v7')"
        )
    endian = data[126:128]
    if endian not in (b"IM", b"MI"):
        raise FileFormatError(
            name, None, "a MAT v5 file", found=f"header endian mark {endian!r}", hint=_HINT
        )
    fmt = "<" if endian == b"IM" else ">"
    version = struct.unpack_from(fmt + "H", data, 124)[0]
    if version != 0x0100:
        raise FileFormatError(name, None, "a MAT v5 file", found=f"version {version:#06x}")
    try:
        _elements(data, 128, len(data), fmt, 0)
    except _Bad as exc:
        raise FileFormatError(name, None, _EXPECTED, found=str(exc), hint=_HINT) from None
    except (struct.error, MemoryError, OverflowError) as exc:  # pragma: no cover - belt and braces
        raise FileFormatError(name, None, _EXPECTED, found=repr(exc), hint=_HINT) from None


def load_mat5(
    source: str | os.PathLike[str] | bytes, name: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Read a MAT v5 file with ``scipy.io.loadmat(simplify_cells=True)`` after :func:`check_mat5`.

    Parameters
    ----------
    source
        A path, or the file's bytes.
    name
        The name to use in messages (default: the path).

    Returns
    -------
    dict
        What ``scipy.io.loadmat(..., simplify_cells=True)`` returns.

    Raises
    ------
    FileFormatError
        Naming the file, for a damaged, truncated or non-v5 file, and for anything scipy raises.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<bytes>"
    else:
        label = name or os.fspath(source)
        try:
            with open(source, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise FileFormatError(label, None, "a readable MAT file", found=str(exc)) from None
    check_mat5(data, label)
    from scipy.io import loadmat

    try:
        return loadmat(io.BytesIO(data), simplify_cells=True)
    except Exception as exc:  # scipy's own errors are many and unnamed: name the file
        raise FileFormatError(
            label, None, "a MAT v5 file scipy can read", found=f"{type(exc).__name__}: {exc}"
        ) from None
