"""``open_scalar(...).onc.clean().onc.resample(P, method=m)`` equals ONC's own TSSD product.

For every resample method and every ONC period, over time ranges that hold what makes resampling
hard: data gaps, a deployment change (``SBECTD19p6813`` is not deployed from 2022-07-01 to
2022-07-15) and a sample-period change (ONC's rating goes from 0.25 s to 1 s on 2019-07-15T18:46:06). The
product is built by the sandbox from its independent implementation of semantics.md; values,
counts, flags and the exact min/max times must all be equal, means and standard deviations to
rounding (the two sum in different orders).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from intake_onc.client import ONCClient
from intake_onc.datasets.scalar import open_scalar
from intake_onc.scalar.tssd import read_tssd

CTD = "SBECTD19p6813"
ONC_PERIODS = (60, 600, 900, 3600, 86400)
METHODS = ("average", "minMax", "minMaxAvg")

#: name -> (start, end): whole days, so that every ONC period tiles them; each day holds ~3 gaps.
RANGES = {
    "rating change": ("2019-07-14", "2019-07-16"),
    "deployment change": ("2022-06-30", "2022-07-16"),
}


@pytest.fixture(scope="module")
def client(sandbox_url, sandbox_token, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with ONCClient(token=sandbox_token, base_url=sandbox_url, cache_dir=cache) as c:
        yield c


@pytest.fixture(scope="module")
def opened(client):
    """Each range opened once (lazily, daily chunks) and cleaned, as a user would."""
    cache = {}

    def get(name: str) -> tuple[xr.Dataset, str, str]:
        if name not in cache:
            start, end = RANGES[name]
            ds = open_scalar(CTD, start=start, end=end, chunk="1D", client=client)
            cache[name] = (ds.onc.clean(), start, end)
        return cache[name]

    return get


def product(client: ONCClient, start: str, end: str, method: str, period: int) -> xr.Dataset:
    order = client.order(
        "TSSD",
        "csv",
        device_code=CTD,
        start=start,
        end=end,
        dpo_qualityControl=1,
        dpo_dataGaps=1,
        dpo_resample=method,
        **{f"dpo_{method}": period},
    )
    return read_tssd(order.run())


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("period", ONC_PERIODS)
@pytest.mark.parametrize("name", sorted(RANGES))
def test_resampling_equals_the_onc_product(opened, client, name, period, method):
    ds, start, end = opened(name)
    ours = ds.onc.resample(period, method=method, start=start, end=end).compute()
    ref = product(client, start, end, method, period)
    np.testing.assert_array_equal(ours.time.values, ref.time.values)
    assert set(ref.data_vars) <= set(ours.data_vars)
    counts = ours["temperature_count"].values
    if name == "deployment change":  # bins while the device was not deployed are empty
        assert (counts == 0).any() and (counts > 0).any()
    else:  # 0.25 s samples before the rating change (up to 4 per second), 1 s after
        starts = ours.time.values - np.timedelta64(period // 2, "s")
        after = starts >= np.datetime64("2019-07-15T18:46:06")
        assert counts[~after].max() > period
        assert (counts[after] <= period).all()  # daily bins: none starts after the change
    for var in ref.data_vars:
        a, b = ours[var].values, ref[var].values
        if var.endswith(("_std",)) or (a.dtype.kind == "f" and not var.endswith(("_min", "_max"))):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=var)
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fM"), var
