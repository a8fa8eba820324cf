"""The dask graph of ONC resampling: one task per chunk for the whole Dataset.

:func:`resample_lazily` builds, for every flagged variable of a Dataset at once:

1. **one kernel task per chunk** of whole bins (a single ``map_blocks`` over all the data and
   flag arrays, so elementwise steps before it, such as ``clean``, fuse into it), returning the
   packed output fields of every variable (:class:`~._resample_kernel._Packed` rows);
2. **one gather task per output chunk**, concatenating the kernel blocks of many input chunks
   (an hourly resample of a year of daily chunks is 8,760 bins: one output chunk);
3. **one unpacking task per output chunk and output variable**, a view of the gathered rows.

Why not the obvious ``map_blocks`` per variable and one unpacking layer per field: a year of
1 Hz data in daily chunks, four sensors, ``minMaxAvg`` hourly, made 18,250 tasks of which
14,600 only unpacked a field, and on ``dask.distributed`` each task costs about 1.7 ms. Here
the same resample is 365 + 1 + 40 tasks.

Times never enter the graph when the axis is regular (an O(1)
:class:`~intake_onc._core.time_index.TimeGridIndex`, or one integer step): each kernel task
derives the times of its own rows from ``(start, step)``. Irregular axes are cut into per-chunk
views (unavoidable: the times are the data).
"""

from __future__ import annotations

import uuid

import dask.array as dsa
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from ._resample_kernel import _DTYPES, _FIELDS, _Packed, _resample_chunk
from .time_axis import TimeAxis

__all__ = ["OUTPUT_CHUNK_BINS", "aligned_bounds", "resample_lazily"]

#: Output chunks hold at least this many bins (8 MB of float64 per field): the kernel blocks of
#: consecutive input chunks are gathered until they reach it.
OUTPUT_CHUNK_BINS = 1 << 20


def aligned_bounds(axis: TimeAxis, chunks: tuple[int, ...], period: int) -> np.ndarray:
    """Chunk boundaries (row positions) moved back to the start of the bin they fall in.

    Examples
    --------
    >>> import pandas as pd
    >>> axis = TimeAxis.from_index(pd.date_range("2024-01-01", periods=7200, freq="1s"))
    >>> aligned_bounds(axis, (3000, 3000, 1200), 3600 * 10**9).tolist()
    [0, 3600, 7200]
    """
    inner = np.cumsum(chunks)[:-1]
    inner = inner[(inner > 0) & (inner < len(axis))]
    snapped = axis.searchsorted((axis.at(inner) // period) * period)
    return np.unique(np.concatenate([[0], snapped, [len(axis)]])).astype(np.int64)


def _kernel_block(*arrays, axis, nvars, has_offset, k0, period, block_info, **kwargs):
    """The kernel task: every variable of one chunk of whole bins, packed into one array.

    A task carries nothing about the other chunks: its rows (``array-location``), its number of
    bins (its output chunk's shape) and its first bin (``k0`` for the first chunk, else the bin
    of its first row) all come from ``block_info``. Passing the chunks' bounds instead made each
    task's message grow with the number of chunks: 8 kB a task for a year of daily chunks,
    22 kB for four years, all re-sent to the workers of a cluster task by task.
    """
    ((lo, hi),) = block_info[0]["array-location"]
    nbins = block_info[None]["chunk-shape"][-1]
    if axis is None:  # irregular axis: its own chunk of times is the last array
        *arrays, t = arrays
    else:
        t = axis.block(int(lo), int(hi))
    k_first = k0 if lo == 0 else int(t[0]) // period
    offset = arrays[-1] if has_offset else None
    parts = [
        _resample_chunk(
            arrays[2 * v],
            arrays[2 * v + 1],
            t,
            offset,
            k_first=k_first,
            nbins=nbins,
            period=period,
            **kwargs,
        )
        for v in range(nvars)
    ]
    return np.concatenate(parts, axis=0) if nvars > 1 else parts[0]


def _gather(*blocks: np.ndarray) -> np.ndarray:
    return np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def _time_chunks(axis: TimeAxis, sizes: tuple[int, ...]) -> dsa.Array:
    """A dask array whose chunks are views of an irregular axis (``from_array`` copies twice)."""
    name = f"onc-time-{uuid.uuid4().hex}"
    ends = np.cumsum(sizes).tolist()
    views = {(name, i): axis.values[end - sizes[i] : end] for i, end in enumerate(ends)}
    graph = HighLevelGraph.from_collections(name, views, dependencies=())
    dtype = np.dtype(np.int64)
    return dsa.Array(graph, name, chunks=(sizes,), dtype=dtype, meta=np.empty(0, dtype))


def _groups(out_chunks: tuple[int, ...], target: int) -> list[range]:
    """Consecutive kernel blocks gathered into output chunks of at least ``target`` bins."""
    groups, begin, size = [], 0, 0
    for i, n in enumerate(out_chunks):
        size += n
        if size >= target:
            groups.append(range(begin, i + 1))
            begin, size = i + 1, 0
    if begin < len(out_chunks):
        groups.append(range(begin, len(out_chunks)))
    return groups


def resample_lazily(
    pairs: list[tuple[object, object]],
    offset: object,
    axis: TimeAxis,
    *,
    k0: int,
    k_end: int,
    period: int,
    method: str,
    output_chunk_bins: int | None = None,
    **kwargs,
) -> list[dict[str, dsa.Array]]:
    """Lazy output fields of every ``(values, flags)`` pair, from one kernel task per chunk.

    Parameters
    ----------
    pairs
        ``(values, int8 flags)`` arrays (numpy or dask), 1-D along the rows of ``axis``.
    offset
        ``time_offset`` seconds along the same rows (a nominal grid), or None.
    axis
        The rows' times (:class:`TimeAxis`), at least one row.
    k0, k_end
        The first bin and the bin after the last (bin ``k`` is ``[k·period, (k+1)·period)``).
    output_chunk_bins
        Bins per output chunk at least (default :data:`OUTPUT_CHUNK_BINS`).
    period, method, kwargs
        As for the kernel (:func:`~._resample_kernel._resample_chunk`).

    Returns
    -------
    list of dict
        Per pair, ``{field: dask array}`` with :data:`~._resample_kernel._FIELDS` ``[method]``.
    """
    first = next(a for pair in pairs for a in pair if hasattr(a, "chunks"))
    bounds = aligned_bounds(axis, first.chunks[0], period)
    sizes = tuple(np.diff(bounds).tolist())
    firsts = [k0, *(axis.at(bounds[1:-1]) // period).tolist()]
    out_chunks = tuple(np.diff([*firsts, k_end]).tolist())
    arrays = [dsa.asarray(a).rechunk((sizes,)) for pair in pairs for a in pair]
    if offset is not None:
        arrays.append(dsa.asarray(offset).rechunk((sizes,)))
    if not axis.regular:
        arrays.append(_time_chunks(axis, sizes))
    fields = _FIELDS[method]
    nfields = len(fields)
    packed = dsa.map_blocks(
        _kernel_block,
        *arrays,
        new_axis=0,
        chunks=((nfields * len(pairs),), out_chunks),
        dtype=np.int64,
        meta=np.empty((0, 0), np.int64),
        axis=axis if axis.regular else None,
        nvars=len(pairs),
        has_offset=offset is not None,
        k0=k0,
        period=period,
        method=method,
        **kwargs,
    )
    groups = _groups(out_chunks, output_chunk_bins or OUTPUT_CHUNK_BINS)
    token = packed.name.split("-")[-1]
    gname = f"onc-resample-gather-{token}"
    layers = {
        gname: {
            (gname, g): (_gather, *[(packed.name, 0, i) for i in group])
            for g, group in enumerate(groups)
        }
    }
    graph = HighLevelGraph.from_collections(gname, layers[gname], dependencies=[packed])
    group_chunks = (tuple(sum(out_chunks[i] for i in group) for group in groups),)
    results: list[dict[str, dsa.Array]] = []
    for v in range(len(pairs)):
        fields_out = {}
        for j, field in enumerate(fields):
            dtype = np.dtype(_DTYPES[field])
            name = f"onc-resample-{field}-{v}-{token}"
            row = v * nfields + j
            tasks = {
                (name, g): (_Packed.unpack, (gname, g), row, dtype) for g in range(len(groups))
            }
            layer = HighLevelGraph(
                {**graph.layers, name: tasks},
                {**graph.dependencies, name: {gname}},
            )
            fields_out[field] = dsa.Array(
                layer, name, chunks=group_chunks, dtype=dtype, meta=np.empty(0, dtype)
            )
        results.append(fields_out)
    return results
