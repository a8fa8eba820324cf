"""The dask graph of ONC resampling: one task per chunk, or per run of chunks on a cluster.

:func:`resample_lazily` builds, for every flagged variable of a Dataset at once:

1. **one kernel task per chunk** of whole bins (a single ``map_blocks`` over all the data and
   flag arrays, so elementwise steps before it, such as ``clean``, fuse into it), returning the
   packed output fields of every variable (:class:`~._resample_kernel._Packed` rows), or, for
   small chunks, **one task per run of consecutive chunks** (below);
2. **one gather task per output chunk**, concatenating the kernel blocks of many input chunks
   (an hourly resample of a year of daily chunks is 8,760 bins: one output chunk);
3. **one unpacking task per output chunk and output variable**, a view of the gathered rows.

Why not the obvious ``map_blocks`` per variable and one unpacking layer per field: a year of
1 Hz data in daily chunks, four sensors, ``minMaxAvg`` hourly, made 18,250 tasks of which
14,600 only unpacked a field, and on ``dask.distributed`` each task costs about 1.7 ms. One
task per chunk made it 365 + 1 + 40 tasks; with runs of chunks, 34 + 1 + 40.

**Runs of small chunks, on a cluster.** A day of 1 Hz is 86,400 rows: about 6 ms of kernel and
download snapping, against the 1.5 ms that dask.distributed spends on every task of its own on a
2-core machine (``benchmarks/RESULTS.md``, "Scalar on a cluster"). So when the resample is built
where a compute would run on ``dask.distributed`` (a default ``Client``):

* Consecutive chunks are resampled in runs of at most :data:`TASK_ROWS` rows, one task a run.
  Each chunk's own fused task (its download, views, ``clean``, the kernel) is nested in the
  run's task, which concatenates their blocks.
* A run is also at most 1/:data:`MIN_TASKS` of the rows, and there are at least
  :data:`TASKS_PER_THREAD` runs per worker thread of the cluster: a year of daily chunks makes
  34 runs of 11 days on up to 8 threads (73 runs of 5 days on 16), and a month of daily chunks
  keeps its 30 tasks, so that every thread of a cluster still has a window to download.
* Measured on a year of daily chunks (2 cores, ``benchmarks/RESULTS.md``): one worker went
  from 1.37x to 1.09-1.15x the time of one thread (with :func:`_letters`' task groups); two
  workers against one stay at 1.66-1.81x, limited by what dask.distributed itself costs on two
  shared cores (the same kernel tasks mapped bare with ``client.map``: 1.64-1.89x). The issue's
  reference graph (``da.random`` chunks, each a task of its own) went from 8.6 s to about 3 s
  on one worker. With real downloads (100 days of the sandbox's 1 Hz CTD, 2 workers): 25.5 s
  against 28.5 s.
* The price: the input's graph is optimised when the resample is built, to nest its tasks
  (a year: 38 ms instead of 10; dask's compute would otherwise do it), so computing the input
  *and* its resample in one call computes the input's chunks twice. ``persist()`` the input
  first where both are needed.

The local schedulers keep one task per chunk: their cost per task is tens of microseconds, and
``open_scalar``'s read-ahead (``workers`` downloads in flight) follows a compute from chunk to
chunk, which runs would hide (100 days of the sandbox CTD on 2 threads: 30 s per chunk, 60 s in
runs).

Times never enter the graph when the axis is regular (an O(1)
:class:`~intake_onc._core.time_index.TimeGridIndex`, or one integer step): each kernel task
derives the times of its own rows from ``(start, step)``. Irregular axes are cut into per-chunk
views (unavoidable: the times are the data).
"""

from __future__ import annotations

import sys
import uuid

import dask.array as dsa
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.layers import ArrayBlockwiseDep

from ._resample_kernel import _DTYPES, _FIELDS, _Packed, _resample_chunk
from .time_axis import TimeAxis

__all__ = [
    "MIN_TASKS",
    "OUTPUT_CHUNK_BINS",
    "TASKS_PER_THREAD",
    "TASK_ROWS",
    "aligned_bounds",
    "resample_lazily",
]

#: Output chunks hold at least this many bins (8 MB of float64 per field): the kernel blocks of
#: consecutive input chunks are gathered until they reach it.
OUTPUT_CHUNK_BINS = 1 << 20

#: Consecutive input chunks are resampled together, one task for a run of at most this many rows
#: (a larger chunk is a run of its own): about 80 ms of work for 1 Hz data (12 daily chunks), so
#: that dask.distributed's own cost per task (about 1.5 ms on 2 cores) stays a few percent.
TASK_ROWS = 1 << 20

#: ... and at most 1/MIN_TASKS of all the rows, so that there are at least this many tasks (or
#: one per chunk): a month of daily chunks keeps its 30 tasks, and every thread of a cluster
#: still has windows to download.
MIN_TASKS = 32

#: ... and at least this many tasks per worker thread of the cluster, so that its threads end
#: together: 34 runs on 16 threads would keep 14 of them idle for the last third.
TASKS_PER_THREAD = 4


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


class _KernelPlace(ArrayBlockwiseDep):
    """Each kernel task's place: its rows ``(lo, hi)`` and its number of bins, a per-block
    ``map_blocks`` argument (dask's ``block_info`` gives the same, as a dict per input array for
    every task: with 8 arrays, half of a year's graph-building time and of each task's size).

    Examples
    --------
    >>> place = _KernelPlace(((3, 4, 2),), (1, 2, 1))
    >>> [place[(i,)] for i in range(3)]
    [(0, 3, 1), (3, 7, 2), (7, 9, 1)]
    """

    def __init__(self, chunks: tuple, out_chunks: tuple[int, ...]) -> None:
        super().__init__(chunks)
        self.bounds = np.cumsum((0, *chunks[0])).tolist()
        self.bins = list(out_chunks)

    def __getitem__(self, idx: tuple[int, ...]) -> tuple[int, int, int]:
        (i,) = idx
        return self.bounds[i], self.bounds[i + 1], self.bins[i]


def _kernel_block(*arrays, axis, nvars, has_offset, k0, period, **kwargs):
    """The kernel task: every variable of one chunk of whole bins, packed into one array.

    A task carries nothing about the other chunks: its rows, its number of bins and its first
    bin (``k0`` for the first chunk, else the bin of its first row) come from its
    :class:`_KernelPlace` (the last argument). Passing the chunks' bounds instead made each
    task's message grow with the number of chunks: 8 kB a task for a year of daily chunks,
    22 kB for four years, all re-sent to the workers of a cluster task by task.
    """
    *arrays, (lo, hi, nbins) = arrays
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


def _letters(n: int) -> str:
    """``n`` in letters (0 → ``"a"``, 25 → ``"z"``, 26 → ``"ba"``): a name part that dask's
    ``key_split`` keeps, so that every output variable is a task group of its own.

    dask.distributed holds back the tasks of a large group with few dependencies ("root-ish",
    more than twice the cluster's threads) and releases them a worker slot at a time. The 40
    unpacking tasks of four sensors' ``minMaxAvg`` made such groups (``onc-resample-mean-0``
    … ``-3`` all split to ``onc-resample-mean``; names with ``min_time`` to ``onc-resample``):
    a 5.7 ms scheduler round trip for every two of them, 0.23 s after the kernels of a month
    on one worker, where the kernels themselves took 0.21 s.

    Examples
    --------
    >>> [_letters(n) for n in (0, 1, 25, 26, 27, 701)]
    ['a', 'b', 'z', 'ba', 'bb', 'baz']
    """
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = chr(ord("a") + digit) + out
        if n == 0:
            return out


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


try:  # dask's task objects (2025.1 and later) nest tasks; older versions: one task per chunk
    from dask._task_spec import DataNode, Task, TaskRef, convert_legacy_graph

    _NESTED_TASKS = True
except ImportError:  # pragma: no cover - dask older than 2025.1
    _NESTED_TASKS = False


def _cluster_threads() -> int:
    """The worker threads of the ``dask.distributed`` cluster that a compute now would run on
    (a default ``Client``, and no other scheduler set in dask's config), or 0 where it would not
    run on one; never imports distributed."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return 0  # no Client can exist
    import dask.base

    client = getattr(dask.base.get_scheduler(), "__self__", None)
    if not isinstance(client, distributed.Client):
        return 0
    try:
        threads = client.nthreads()  # {worker: threads}, from the scheduler
    except (OSError, TimeoutError, RuntimeError):  # no answer: still a cluster
        return 1
    return max(1, sum(threads.values())) if isinstance(threads, dict) else 1


def _runs(group: range, sizes: tuple[int, ...], task_rows: int) -> list[range]:
    """Consecutive chunks of ``group`` in runs of at most ``task_rows`` rows; a chunk of more
    rows is a run of its own.

    Examples
    --------
    >>> _runs(range(0, 9), (86_400,) * 9, 6 * 86_400)
    [range(0, 6), range(6, 9)]
    >>> _runs(range(0, 3), (50, 200, 50), 100)
    [range(0, 1), range(1, 2), range(2, 3)]
    """
    runs, begin, rows = [], group.start, 0
    for i in group:
        if i > begin and rows + sizes[i] > task_rows:
            runs.append(range(begin, i))
            begin, rows = i, 0
        rows += sizes[i]
    runs.append(range(begin, group.stop))
    return runs


def _with_its_own_inputs(kernel, tasks: dict, dependents: dict) -> object:
    """``kernel`` fused with the upstream tasks that feed it alone (``tasks`` loses them).

    Blockwise steps are already inside a kernel task; inputs made by other layers (dask's
    random arrays, ``da.ones``: one task per chunk each) would otherwise stay tasks of their
    own, which on a cluster cost as much as the work (a year of daily chunks, four random
    sensors: 1,825 such tasks, 7.1 s on one worker against 2.8 s of work). Data nodes (the
    windows' source) and tasks that anything else uses stay where they are.
    """
    own: dict = {}
    stack = list(kernel.dependencies)
    while stack:
        key = stack.pop()
        node = tasks.get(key)
        if key in own or node is None or isinstance(node, DataNode):
            continue
        if not dependents[key] <= {kernel.key, *own}:
            continue
        own[key] = node
        stack.extend(node.dependencies)
    if not own:
        return kernel
    for key in own:
        del tasks[key]
    return Task.fuse(kernel, *own.values(), key=kernel.key)


def _gather_runs(packed: dsa.Array, runs: list[list[range]], gname: str, rname: str):
    """The gather layer over one task per run of chunks, each chunk's fused task nested.

    ``packed``'s graph is optimised as ``compute`` would (blockwise fusion: a chunk's download,
    views, elementwise steps and kernel become one task), each chunk's task takes in the
    upstream tasks that feed it alone, then the tasks of a run are nested in one task that
    concatenates their blocks. dask runs nested tasks in order, each freeing its inputs before
    the next starts.
    """
    from dask.core import flatten
    from dask.utils import ensure_dict

    keys = list(flatten(packed.__dask_keys__()))
    tasks = convert_legacy_graph(
        ensure_dict(packed.__dask_optimize__(packed.__dask_graph__(), keys))
    )
    dependents: dict = {key: set() for key in tasks}
    for key, node in tasks.items():
        for dep in node.dependencies:
            dependents.setdefault(dep, set()).add(key)
    kernels = {key: tasks.pop(key) for key in keys}
    kernels = {key: _with_its_own_inputs(k, tasks, dependents) for key, k in kernels.items()}
    layer: dict = dict(tasks)  # what stays outside the runs: data nodes, shared tasks
    r = 0
    for g, group_runs in enumerate(runs):
        refs = []
        for run in group_runs:
            key = (rname, r)
            layer[key] = Task(key, _gather, *[kernels[(packed.name, 0, i)] for i in run])
            refs.append(TaskRef(key))
            r += 1
        layer[(gname, g)] = Task((gname, g), _gather, *refs)
    return HighLevelGraph({gname: layer}, {gname: set()})


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
        _KernelPlace((sizes,), out_chunks),
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
    threads = _cluster_threads() if _NESTED_TASKS and len(sizes) > 1 else 0  # (asks the scheduler)
    fewest_runs = max(MIN_TASKS, TASKS_PER_THREAD * threads)
    task_rows = min(TASK_ROWS, len(axis) // fewest_runs) if threads else 0
    runs = [_runs(group, sizes, task_rows) for group in groups]
    if any(len(run) > 1 for group_runs in runs for run in group_runs):
        graph = _gather_runs(packed, runs, gname, f"onc-resample-run-{token}")
    else:
        layer = {
            (gname, g): (_gather, *[(packed.name, 0, i) for i in group])
            for g, group in enumerate(groups)
        }
        graph = HighLevelGraph.from_collections(gname, layer, dependencies=[packed])
    group_chunks = (tuple(sum(out_chunks[i] for i in group) for group in groups),)
    results: list[dict[str, dsa.Array]] = []
    for v in range(len(pairs)):
        fields_out = {}
        for j, field in enumerate(fields):
            dtype = np.dtype(_DTYPES[field])
            name = f"onc-resample-{field.replace('_', '')}-{_letters(v)}-{token}"
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
