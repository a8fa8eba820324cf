"""Small hand-made scalar Datasets and dask helpers shared by the ``tests/test_ops_*`` modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dask
import numpy as np
import pandas as pd
import xarray as xr

from intake_onc.scalar.flags import add_flag_attrs

DAY = "2024-04-01"


def at(*stamps: str, day: str = DAY) -> np.ndarray:
    """``datetime64[ns]`` times from ``"HH:MM:SS.fff"`` strings on ``day``."""
    return np.array([np.datetime64(f"{day}T{s}", "ns") for s in stamps])


def seconds(offsets: Sequence[float], start: str = f"{DAY}T00:00:00") -> np.ndarray:
    """``datetime64[ns]`` times ``start + offsets`` (seconds, may be fractional)."""
    ns = np.round(np.asarray(offsets, dtype=np.float64) * 1e9).astype(np.int64)
    return np.datetime64(start, "ns") + ns.astype("timedelta64[ns]")


def scalar_ds(
    time: Sequence | np.ndarray,
    attrs: dict | None = None,
    **sensors: tuple[Sequence[float], Sequence[int]] | Sequence[float],
) -> xr.Dataset:
    """A scalar Dataset (semantics.md layout): ``name=(values, flags)`` or ``name=values``.

    Flags default to 1. Each data variable gets ``units`` and ``long_name`` attrs; the Dataset
    gets ``device_code`` plus ``attrs``.
    """
    time = np.asarray(time, dtype="datetime64[ns]")
    data = {}
    for name, spec in sensors.items():
        if isinstance(spec, tuple):
            values, flags = spec
        else:
            values, flags = spec, np.ones(len(time), dtype=np.int8)
        data[name] = xr.Variable(
            "time", np.asarray(values, dtype=np.float64), {"long_name": name.title(), "units": "C"}
        )
        data[f"{name}_qc"] = xr.Variable("time", np.asarray(flags, dtype=np.int8))
    ds = xr.Dataset(data, coords={"time": time}, attrs={"device_code": "TEST", **(attrs or {})})
    return add_flag_attrs(ds)


def regular_ds(n: int, period_s: float = 1.0, start: str = f"{DAY}T00:00:00", seed: int = 0):
    """``n`` readings every ``period_s`` seconds, one sensor ``x`` with a few NaNs and flags."""
    rng = np.random.default_rng(seed)
    values = np.round(4 + rng.standard_normal(n), 3)
    flags = rng.choice(np.int8([1, 1, 1, 1, 1, 1, 2, 3, 4, 0]), size=n)
    values[rng.random(n) < 0.02] = np.nan
    return scalar_ds(
        seconds(np.arange(n) * period_s, start), {"sample_period": period_s}, x=(values, flags)
    )


class ComputeCounter:
    """A dask scheduler that counts computations and, unless ``allow``, refuses to run them."""

    def __init__(self, allow: bool = False) -> None:
        self.calls = 0
        self.allow = allow

    def __call__(self, dsk, keys, **kwargs):
        self.calls += 1
        if not self.allow:
            raise AssertionError("a dask computation ran inside an operation that must stay lazy")
        return dask.get(dsk, keys, **kwargs)


@contextmanager
def no_compute() -> Iterator[ComputeCounter]:
    """Within this block any dask computation raises ``AssertionError``."""
    counter = ComputeCounter()
    with dask.config.set(scheduler=counter):
        yield counter


@contextmanager
def count_computes() -> Iterator[ComputeCounter]:
    """Within this block dask computations run (synchronously) and are counted."""
    counter = ComputeCounter(allow=True)
    with dask.config.set(scheduler=counter):
        yield counter


def is_lazy(ds: xr.Dataset, names: Sequence[str] | None = None) -> bool:
    """Every (named) data variable of ``ds`` is dask-backed."""
    names = list(ds.data_vars) if names is None else names
    return all(dask.is_dask_collection(ds[n].data) for n in names)


def timestamps(ds: xr.Dataset) -> list[str]:
    """The time coordinate as ``HH:MM:SS.fff`` strings (short, for readable assertions)."""
    return [pd.Timestamp(t).strftime("%H:%M:%S.%f")[:-3] for t in ds["time"].values]
