"""Wrong-typed arguments of ``ONCClient`` and its public methods fail clearly, up front.

Every public argument, given a value of a wrong type or an absurd value (None, ints, floats,
NaN, huge ints, lists, dicts, bytes, bare objects, empty strings...), either works or raises a
``TypeError``/``ValueError``/:class:`~intake_onc.client.errors.ONCError` whose message names
the argument (in snake_case, or in ONC's camelCase when the server refused it) — never an
``AttributeError``/``KeyError``/``IndexError`` from deep inside. The client talks to the
session's sandbox; ``order`` is only prepared and ``order_many``/``download_files`` get empty
work lists, so an example costs a request or two.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_onc.client import ONCClient, ONCError
from intake_onc.client.discovery import _camel

HYD = "ICLISTENHF6093"
CTD = "SBECTD19p6813"
WINDOW = {"start": "2024-04-01T00:00:00", "end": "2024-04-01T00:10:00"}

#: (method, base keyword arguments, arguments to fuzz). "__init__" is the constructor.
CASES: list[tuple[str, dict, tuple[str, ...]]] = [
    (
        "__init__",
        {},
        (
            "token",
            "base_url",
            "timeout",
            "retries",
            "workers",
            "cache_dir",
            "backoff",
            "progress",
            "poll_range",
            "deadline",
            "pickle_token",
        ),
    ),
    ("locations", {}, ("location_code", "start", "include_children")),
    ("location_tree", {}, ("location_code",)),
    ("deployments", {}, ("device_code", "location_code", "start", "end")),
    ("devices", {}, ("device_code", "device_category")),
    ("device_categories", {}, ("device_category",)),
    ("properties", {}, ("property_code",)),
    ("data_products", {}, ("device_code", "extension")),
    # a day: dropping device_code would make each fuzzed call count every hydrophone's whole
    # archive (about 8 s in the sandbox)
    ("data_availability", {"device_code": HYD, **WINDOW}, ("device_code", "extension")),
    ("deployment_ranges", {"device_code": HYD}, ("device_code",)),
    ("check_deployed", {"device_code": HYD, **WINDOW}, ("device_code", "start", "end")),
    (
        "archive_files",
        {"device_code": HYD, **WINDOW, "extension": "flac"},
        (
            "device_code",
            "start",
            "end",
            "location_code",
            "device_category",
            "extension",
            "lookback",
            "row_limit",
        ),
    ),
    (
        "download",
        {"filename": "ICLISTENHF6093_20240401T000001.879Z.flac"},
        ("filename", "overwrite"),
    ),
    (
        "read_head",
        {"filename": "ICLISTENHF6093_20240401T000001.879Z.flac", "nbytes": 16},
        ("filename", "nbytes"),
    ),
    (
        "download_files",
        {"files": []},
        ("files", "workers", "progress", "overwrite", "raise_errors"),
    ),
    (
        "download_archive",
        {
            "device_code": HYD,
            "start": "2024-04-01T00:00:00",
            "end": "2024-04-01T00:00:01",
            "extension": "nope",
        },
        ("device_code", "start", "end", "extension", "workers", "progress"),
    ),
    (
        "scalar_data",
        {"device_code": CTD, "start": "2024-04-01T00:00:00", "end": "2024-04-01T00:01:00"},
        (
            "device_code",
            "start",
            "end",
            "location_code",
            "device_category",
            "property_code",
            "sensor_category_codes",
            "quality_control",
            "resample_type",
            "resample_period",
            "fill_gaps",
            "row_limit",
            "output_format",
            "metadata",
        ),
    ),
    (
        "order",
        {
            "product": "TSSD",
            "extension": "csv",
            "device_code": CTD,
            **WINDOW,
            "quality_control": True,
            "resample": "none",
        },
        (
            "product",
            "extension",
            "device_code",
            "location_code",
            "device_category",
            "property_code",
            "start",
            "end",
            "include_metadata",
            "wait",
            "timeout",
            "poll",
        ),
    ),
    (
        "order_many",
        {"orders": []},
        ("orders", "workers", "stagger", "max_attempts", "timeout", "download", "dest", "progress"),
    ),
]
PAIRS = [(method, base, arg) for method, base, args in CASES for arg in args]

BAD = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(float("nan")),
    st.just(10**40),
    st.just(""),
    st.just("   "),
    st.booleans(),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.lists(st.none(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=4),
    st.builds(object),
    st.text(max_size=4),
)

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def client(sandbox_url, sandbox_token):
    with tempfile.TemporaryDirectory() as cache:
        c = ONCClient(
            token=sandbox_token, base_url=sandbox_url, cache_dir=cache, retries=0, progress=False
        )
        c._fuzz_cache = cache
        yield c
        c.close()


def call(client, method, kwargs):
    if method == "__init__":
        kw = {
            "token": client._core.secret.reveal(),
            "base_url": client.base_url,
            "cache_dir": client._fuzz_cache,
            "progress": False,
            **kwargs,
        }
        with mock.patch.dict(os.environ, {"INTAKE_ONC_CACHE": client._fuzz_cache}):
            ONCClient(**kw).close()
        return
    getattr(client, method)(**kwargs)


def names(arg: str) -> tuple[str, ...]:
    aliases = {
        "device_category": ("deviceCategoryCode",),
        "start": ("dateFrom",),
        "end": ("dateTo",),
        "product": ("dataProductCode",),
        "extension": ("fileExtension",),
    }
    return (arg, _camel(arg), *aliases.get(arg, ()))


@settings(
    max_examples=int(os.environ.get("INTAKE_ONC_FUZZ_EXAMPLES", 250)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pair=st.sampled_from(PAIRS), value=BAD)
def test_wrong_arguments_fail_clearly(client, pair, value):
    method, base, arg = pair
    TALLY["tried"] += 1
    try:
        call(client, method, {**base, arg: value})
    except (ONCError, TypeError, ValueError) as exc:
        text = str(exc)
        if any(name in text for name in names(arg)):
            TALLY["clear error"] += 1
            return
        TALLY["unnamed error"] += 1
        raise AssertionError(f"{method}({arg}={value!r}): {type(exc).__name__}: {text}") from exc
    except Exception as exc:
        TALLY["bare error"] += 1
        raise AssertionError(f"{method}({arg}={value!r}): bare {type(exc).__name__}") from exc
    TALLY["worked"] += 1


def test_report_the_tally():
    # Printed with ``pytest -s``; the property test above already failed on any bad case.
    print(f"\nargument fuzz: {dict(TALLY)}")
