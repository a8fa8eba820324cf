"""Figures that explain themselves: labels with units, legends, colorbar references, robust
colour scales; checked on the drawn matplotlib objects (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import intake_onc  # noqa: E402,F401  (registers .onc)
from intake_onc.acoustics.plot import colorbar_label, plot_spectrogram, pooled  # noqa: E402
from intake_onc.scalar.plot import plot_qc  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def spectrogram(ntime=600, nfreq=200, reference="FS"):
    rng = np.random.default_rng(0)
    values = rng.normal(-80, 3, (ntime, nfreq))
    values[:, 50] = -20  # a tone
    values[:3, :] = -180  # a few empty frames
    return xr.DataArray(
        values,
        dims=("time", "frequency"),
        coords={
            "time": pd.date_range("2024-04-01", periods=ntime, freq="500ms"),
            "frequency": np.linspace(0, 8000, nfreq),
        },
        attrs={
            "units": "dB",
            "long_name": f"power spectral density (dB re 1 {reference}²/Hz)",
            "device_code": "ICLISTENHF6093",
        },
    )


def test_a_spectrogram_says_its_reference_and_its_scale_is_robust(tmp_path):
    ax = spectrogram().onc.plot()
    cbar = ax.figure.axes[-1]
    assert cbar.get_ylabel() == "dB re full scale²/Hz"
    assert ax.get_ylabel() == "frequency (kHz)" and ax.get_xlabel() == "time (UTC)"
    assert ax.get_title().startswith("ICLISTENHF6093 spectrogram, 2024-04-01")
    vmin, vmax = ax.collections[0].get_clim()
    assert -95 < vmin < -80 and -80 < vmax < -60  # neither the tone nor the empty frames
    path = tmp_path / "spec.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 10_000


def test_calibrated_spectrograms_say_micropascal():
    assert colorbar_label(spectrogram(reference="µPa")) == "dB re 1 µPa²/Hz"


def test_long_spectrograms_are_pooled_in_linear_power():
    spec = spectrogram(ntime=10_000, nfreq=2000)
    small = pooled(spec, (1000, 500))
    assert small.sizes == {"time": 1000, "frequency": 500}
    constant = xr.full_like(spec, -60.0)
    np.testing.assert_allclose(pooled(constant, (1000, 500)).values, -60.0)
    ax = plot_spectrogram(spec, max_cells=(1000, 500))
    assert ax.collections[0].get_array().size == 1000 * 500


def test_bad_spectrogram_input_is_named():
    with pytest.raises(ValueError, match="dims"):
        plot_spectrogram(xr.DataArray(np.zeros(3), dims="x"))
    with pytest.raises(ValueError, match="percentiles"):
        plot_spectrogram(spectrogram(), percentiles=(50, 10))


def scalar(n=3 * 3600):
    rng = np.random.default_rng(1)
    flags = rng.choice(np.array([1, 1, 1, 1, 2, 3, 4], np.int8), n)
    ds = xr.Dataset(
        {
            "temperature": (
                "time",
                8 + rng.normal(0, 0.1, n),
                {"long_name": "Temperature", "units": "degC"},
            ),
            "temperature_qc": ("time", flags),
        },
        coords={"time": pd.date_range("2024-04-01", periods=n, freq="1s")},
        attrs={"device_code": "SBECTD19p6813", "sample_period": 1.0},
    )
    ds["temperature"].attrs["ancillary_variables"] = "temperature_qc"
    return ds


def test_a_qc_plot_has_a_legend_per_flag_units_and_the_resampled_band():
    ds = scalar()
    hourly = ds.onc.clean().onc.resample("1h", method="minMaxAvg")
    ax = ds.onc.plot_qc("temperature", resampled=hourly)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = {int(f): int((ds.temperature_qc.values == f).sum()) for f in (1, 2, 3, 4)}
    for flag, count in counts.items():
        assert any(label.startswith(f"{flag} ") and f"({count:,})" in label for label in labels)
    assert "min–max of each bin" in labels and any("mean" in label for label in labels)
    assert ax.get_ylabel() == "Temperature (degC)" and ax.get_xlabel() == "time (UTC)"
    assert "SBECTD19p6813" in ax.get_title() and "QAQC" in ax.get_title()
    line = [ln for ln in ax.get_lines() if "mean" in ln.get_label()][0]
    assert len(line.get_xdata()) == 3  # at the three bin centres


def test_a_qc_plot_of_a_variable_without_flags_is_refused():
    with pytest.raises(ValueError, match="variable='salinity'"):
        plot_qc(scalar(), "salinity")
