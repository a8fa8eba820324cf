"""Wrong arguments to the local (no HTTP) public functions: a clear error naming the argument.

Hypothesis draws values of every wrong kind (None, booleans, huge and negative numbers, NaN and
infinities, strings that look like numbers, bytes, lists, dicts, arbitrary objects, arrays,
Datasets) for each argument of the file readers and the scalar and acoustic operations. Each call
either works, or raises ``ValueError``/``TypeError``/``OSError`` (``FileFormatError`` and the
duration errors are ``ValueError``) whose message names the argument: never an ``AttributeError``,
``KeyError``, ``IndexError`` or a message from deep inside numpy or pandas.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_onc._core.errors import FileFormatError
from intake_onc.acoustics.clips import clip, coverage
from intake_onc.acoustics.hsd import open_hsd_files, read_hsd_mat
from intake_onc.acoustics.spectrogram import spectrogram
from intake_onc.acoustics.windows import open_audio_files
from intake_onc.catalogs import catalog
from intake_onc.scalar.gaps import drop_gaps, fill_gaps, sample_periods
from intake_onc.scalar.quality import clean, flag_mask, flags_summary
from intake_onc.scalar.resample import resample
from intake_onc.scalar.tssd import read_tssd

TIME = pd.date_range("2024-04-01", periods=600, freq="1s")
DS = xr.Dataset(
    {"x": ("time", np.linspace(0, 1, 600)), "x_qc": ("time", np.ones(600, "int8"))},
    coords={"time": TIME},
    attrs={"sample_period": 1.0},
)

#: argument label -> call with the drawn value in that argument's place
CALLS = {
    "path_or_paths": lambda v: read_tssd(v),
    "path": lambda v: read_hsd_mat(v),
    "paths": lambda v: open_hsd_files(v),
    "paths_or_directory": lambda v: open_audio_files(v),
    "ds": lambda v: resample(v, "1min"),
    "period": lambda v: resample(DS, v),
    "method": lambda v: resample(DS, "1min", v),
    "min_completeness": lambda v: resample(DS, "1min", "average", v),
    "sample_period": lambda v: fill_gaps(DS, v),
    "flags": lambda v: clean(DS, v),
    "keep": lambda v: flag_mask(DS, v),
    "audio": lambda v: spectrogram(v),
    "name": lambda v: catalog(v),
}
#: the argument name an error message must contain, when it is not the label itself
NAMED_AS = {"ds": ("ds",), "audio": ("audio",)}
#: functions whose only argument is the Dataset: any Dataset is a valid value for them
DATASET_FUNCTIONS = (drop_gaps, flags_summary, sample_periods, coverage, clip)

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "3600", "-1h", "1e400", "nan", "/", "*", "P", "PT"]),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.one_of(st.integers(-5, 20), st.text(max_size=3), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.builds(object),
    st.builds(lambda n: np.arange(float(n)), st.integers(0, 3)),
    st.just(xr.Dataset()),
    st.just(pd.Timestamp("2024-01-01")),
)

CLEAR = (ValueError, TypeError, OSError)


@pytest.fixture(autouse=True)
def in_an_empty_folder(tmp_path, monkeypatch):
    """Drawn strings are paths and glob patterns too: let them match nothing of the checkout."""
    monkeypatch.chdir(tmp_path)


def outcome(label: str, value: object) -> str:
    """ "ok", "clear" (a clear error naming the argument) or a description of what went wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = CALLS[label](value)
            if hasattr(result, "compute"):
                result.compute()
        return "ok"
    except FileFormatError:  # it names the file it read, which is what the user needs
        return "clear"
    except CLEAR as exc:
        names = NAMED_AS.get(label, (label,))
        if any(name in str(exc) for name in names):
            return "clear"
        return f"unnamed {type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - what the test is about
        return f"bare {type(exc).__name__}: {exc}"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("label", sorted(CALLS))
@given(value=WRONG)
def test_wrong_values_get_a_clear_error_naming_the_argument(label, value):
    result = outcome(label, value)
    assert result in ("ok", "clear"), f"{label}={value!r}: {result}"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("flags", "3600"),  # once read as flags (3, 6, 0, 0)
        ("flags", b"\x03"),
        ("flags", 3.5),
        ("flags", math.nan),
        ("min_completeness", "0.7"),
        ("path_or_paths", None),
        ("paths", 12),
        ("paths_or_directory", [1, 2]),
        ("path", None),
    ],
)
def test_values_once_silently_reinterpreted_or_crashing_are_refused(label, value):
    assert outcome(label, value) == "clear"


@pytest.mark.parametrize("function", DATASET_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", [None, 3, "ds", [1], object()], ids=repr)
def test_dataset_functions_refuse_what_is_not_a_dataset(function, value):
    with pytest.raises((TypeError, ValueError)):
        function(value) if function not in (clip,) else function(value, "2024-04-01", 1)
