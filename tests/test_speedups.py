"""The compiled power/dB kernel (intake_onc.acoustics._speedups) against numpy, and its numpy fallback.

The kernel turns FFT spectra into ``|z|²`` or ``10·log10 |z|²`` in one pass with its own
vectorised natural log; these tests pin its accuracy over every float32 binade, its handling of
zero, subnormal, infinite and NaN powers, its argument checks, and that spectrograms are the
same (to float32 round-off) with the kernel and with the numpy fallback.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import xarray as xr

import intake_onc.acoustics._stft as stft
from intake_onc.acoustics.spectrogram import spectrogram

try:
    from intake_onc.acoustics import _speedups as speedups
except ImportError:  # an install without a C compiler; CI always has one, so it must be built
    if os.environ.get("CI"):
        raise
    pytest.skip("built without a C compiler", allow_module_level=True)


def test_the_kernel_is_built_in_ci():
    # CI installs with a C compiler: a silently failed build would only show as slowness
    if os.environ.get("CI"):
        assert stft.speedups().startswith("compiled")
    assert stft.speedups() in ("numpy", "compiled (baseline)", "compiled (avx2+fma)")


def as_spectra(power: np.ndarray) -> np.ndarray:
    """Complex values whose float32 |z|² is (close to) ``power``: z = sqrt(power) + 0j."""
    z = np.zeros((1, power.size), np.complex64)
    z.real = np.sqrt(power.astype(np.float64)).astype(np.float32)
    return z


def test_natural_log_is_within_one_ulp_over_every_binade():
    bits = np.arange(0, 0x7F800000, 4099, dtype=np.uint32)  # zero, subnormals ... FLT_MAX
    z = as_spectra(bits.view(np.float32))
    out = np.empty(z.shape, np.float32)
    speedups.power(z, out, 0, True, 1.0)
    power = z.real**2  # the float32 power the kernel takes the log of
    with np.errstate(divide="ignore"):
        exact = np.log(power.astype(np.float64))
    finite = np.isfinite(exact)
    assert finite.sum() > 500_000
    err = np.abs(out[finite] - exact[finite])
    ulp = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
    assert (err / ulp).max() <= 1.0
    assert np.all(out[~finite] == -np.inf)  # powers that underflowed to zero


def test_zero_subnormal_infinite_and_nan_powers():
    z = np.array([[0, 1e-22, 3e-20, np.inf, np.nan, 1 + 1j]], np.complex64)
    out = np.empty(z.shape, np.float32)
    speedups.power(z, out, 0, True, 2.0)
    power = np.abs(z.astype(np.complex128)) ** 2
    assert out[0, 0] == -np.inf
    # |1e-22|² = 1e-44 and |3e-20|² = 9e-40 are float32 subnormals: still finite logs
    np.testing.assert_allclose(out[0, 1:3], 2 * np.log(np.float32([1e-44, 9e-40])), rtol=1e-6)
    assert out[0, 3] == np.inf and np.isnan(out[0, 4])
    assert out[0, 5] == pytest.approx(2 * np.log(2.0), rel=1e-7)
    assert np.isfinite(power[0, 1])  # (the float64 power is normal; the kernel's float32 is not)


def test_power_is_re_squared_plus_im_squared_on_the_requested_bins():
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((5, 1037)) + 1j * rng.standard_normal((5, 1037))).astype(np.complex64)
    out = np.empty((5, 1000), np.float32)
    speedups.power(z, out, 17, False, 1.0)
    re, im = z.real[:, 17:1017], z.imag[:, 17:1017]
    np.testing.assert_allclose(out, re * re + im * im, rtol=1e-7)
    db = np.empty((5, 1000), np.float32)
    speedups.power(z, db, 17, True, np.float32(10 / np.log(10)))
    np.testing.assert_allclose(
        db, 10 * np.log10(re.astype(float) ** 2 + im.astype(float) ** 2), atol=1e-4
    )


@pytest.mark.parametrize(
    ("spectra", "out", "first", "match"),
    [
        (np.zeros((2, 8), np.complex128), np.zeros((2, 8), np.float32), 0, "complex64"),
        (np.zeros((2, 8), np.complex64), np.zeros((2, 8), np.float64), 0, "float32"),
        (np.zeros(8, np.complex64), np.zeros(8, np.float32), 0, "2-D"),
        (np.zeros((2, 8), np.complex64), np.zeros((3, 8), np.float32), 0, "does not fit"),
        (np.zeros((2, 8), np.complex64), np.zeros((2, 4), np.float32), 5, "does not fit"),
        (np.zeros((2, 8), np.complex64), np.zeros((2, 4), np.float32), -1, "does not fit"),
        (np.zeros((2, 8), np.complex64)[:, ::2], np.zeros((2, 4), np.float32), 0, "contiguous"),
    ],
)
def test_bad_buffers_are_refused_not_overrun(spectra, out, first, match):
    with pytest.raises((ValueError, BufferError), match=match):
        speedups.power(spectra, out, first, True, 1.0)


def test_read_only_output_is_refused():
    out = np.zeros((2, 8), np.float32)
    out.flags.writeable = False
    with pytest.raises((ValueError, BufferError, TypeError)):
        speedups.power(np.zeros((2, 8), np.complex64), out, 0, True, 1.0)


@pytest.mark.parametrize("kwargs", [{}, {"db": False}, {"freq_lims": (100, 3000)}])
def test_spectrograms_are_the_same_with_the_numpy_fallback(monkeypatch, kwargs):
    x = np.random.default_rng(1).standard_normal(8000 * 20).astype(np.float32) * 0.1
    x[40_000:40_010] = np.nan  # NaN frames stay NaN on both paths
    audio = xr.DataArray(x, dims="time", attrs={"sample_rate": 8000})
    compiled = spectrogram(audio, win_dur=0.5, **kwargs)
    monkeypatch.setattr(stft, "_power_kernel", None)
    assert stft.speedups() == "numpy"
    fallback = spectrogram(audio, win_dur=0.5, **kwargs)
    np.testing.assert_array_equal(np.isnan(compiled), np.isnan(fallback))
    if kwargs.get("db", True):
        np.testing.assert_allclose(compiled, fallback, atol=1e-4)  # dB
    else:
        np.testing.assert_allclose(compiled, fallback, rtol=1e-6)


def test_the_environment_can_turn_the_kernel_off(monkeypatch):
    monkeypatch.setenv("INTAKE_ONC_NO_SPEEDUPS", "1")
    assert stft._load_speedups() is None
    monkeypatch.setenv("INTAKE_ONC_NO_SPEEDUPS", "0")
    assert stft._load_speedups() is speedups.power


@pytest.mark.parametrize("nfft", [16, 17])  # even: DC and Nyquist bins; odd: DC only
def test_dc_and_nyquist_bins_are_halved_when_nfft_is_given(nfft):
    rng = np.random.default_rng(nfft)
    z = (rng.standard_normal((2, nfft // 2 + 1)) + 1j).astype(np.complex64)
    plain = np.empty(z.shape, np.float32)
    speedups.power(z, plain, 0, False, 2.0)
    halved = np.empty(z.shape, np.float32)
    speedups.power(z, halved, 0, False, 2.0, 0.0, nfft)
    edges = [0, nfft // 2] if nfft % 2 == 0 else [0]
    inner = np.setdiff1d(np.arange(z.shape[1]), edges)
    np.testing.assert_array_equal(halved[:, edges], plain[:, edges] / 2)
    np.testing.assert_array_equal(halved[:, inner], plain[:, inner])
    # a band without the edges, and dB (ln of the halved power)
    band = np.empty((2, 3), np.float32)
    speedups.power(z, band, 2, True, 1.0, 0.5, nfft)
    np.testing.assert_allclose(band, np.log(plain[:, 2:5] / 2) + 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="nfft"):
        speedups.power(z, halved, 0, False, 1.0, 0.0, nfft + 2)


_FAULTS = r"""
import resource, numpy as np
from intake_onc.acoustics._stft import make_frames
frames = make_frames(64000, 1.0, 0.5, (10, 8000), "hann", "density", True, False)
x = np.random.default_rng(0).normal(0, 0.02, 60 * 64000).astype(np.float32)
frames.compute(x[:640000])
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
frames.compute(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_the_malloc_warm_up_holds_where_dask_sets_malloc_trim_threshold():
    """dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which turns glibc's moving
    thresholds off: without mallopt every FFT block's buffers were unmapped and faulted back in
    (~23,000 page faults a minute of 64 kHz audio, against a few hundred)."""
    import platform
    import subprocess

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True
    )
    faults = int(out.stdout.split()[-1])
    assert faults < 5000, f"{faults} page faults for a minute of 64 kHz frames"
