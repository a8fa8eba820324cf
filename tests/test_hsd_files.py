"""ONC HSD MAT v5 files: orientation, datenums, bin-width correction, joining files, writing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.io

from intake_onc._core.errors import FileFormatError
from intake_onc._core.time import datetime64_to_datenum
from intake_onc.acoustics.hsd import open_hsd_files, read_hsd_mat, write_hsd_mat

FREQS = np.arange(10.0, 4001.0, 10.0)  # 400 bins, 10 Hz apart


def minute_times(start: str, n: int) -> np.ndarray:
    return pd.date_range(start, periods=n, freq="1min").to_numpy()


def psd_values(freqs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """A PSD (rows = frequency, columns = time) whose every value tells where it belongs."""
    minutes = (times - np.datetime64("2024-04-01")).astype("timedelta64[m]").astype(float)
    return 50.0 + freqs[:, None] / 100.0 + minutes[None, :] / 1000.0


def write_onc_mat(path, times, freqs=FREQS, meta=None, psd=None, **extra) -> None:
    spect = {
        "PSD": psd_values(freqs, times) if psd is None else psd,
        "frequency": freqs.reshape(-1, 1),
        "time": datetime64_to_datenum(times).reshape(1, -1),
        "processingComment": "Welch, Hann, 50% overlap; calibrated",
        **extra,
    }
    content = {"SpectData": spect}
    if meta is not None:
        content["Meta"] = meta
    scipy.io.savemat(path, content)


def name(start: str) -> str:
    ts = pd.Timestamp(start)
    return f"ICLISTENHF6093_{ts.strftime('%Y%m%dT%H%M%S')}.000Z-spect.mat"


def test_orientation_times_and_attrs(tmp_path):
    times = minute_times("2024-04-01T00:00:00.227", 5)
    path = tmp_path / name("2024-04-01")
    write_onc_mat(path, times)
    psd = read_hsd_mat(path)
    assert psd.dims == ("time", "frequency") and psd.shape == (5, 400)
    np.testing.assert_array_equal(psd["time"].values, times)  # datenums decoded to the ms
    np.testing.assert_array_equal(psd["frequency"].values, FREQS)
    # value at (time j, frequency i) is the file's PSD[i, j]
    assert float(psd.sel(frequency=1000.0).isel(time=3)) == pytest.approx(50 + 10 + 0.003)
    assert psd.attrs["units"] == "dB"
    assert psd.attrs["long_name"] == "power per frequency bin (dB re 1 µPa² per 10 Hz bin)"
    assert psd["frequency"].attrs == {
        "units": "Hz",
        "standard_name": "sound_frequency",
        "long_name": "frequency",
    }
    assert psd.attrs["bin_width_correction"] == "not applied"
    assert psd.attrs["bin_width_hz"] == 10.0
    assert psd.attrs["spectral_data_downsample"] == 1  # archived -spect.mat: one-minute
    assert psd.attrs["device_code"] == "ICLISTENHF6093"
    assert psd.attrs["processing_comment"].startswith("Welch")


def test_bin_width_correction(tmp_path):
    path = tmp_path / name("2024-04-01")
    write_onc_mat(path, minute_times("2024-04-01", 3))
    raw = read_hsd_mat(path)
    corrected = read_hsd_mat(path, bin_width_correction=True)
    np.testing.assert_allclose(corrected.values, raw.values - 10.0)  # 10·log10(1/10 Hz)
    assert corrected.attrs["bin_width_correction"] == "applied"


def test_long_name_says_density_only_when_corrected(tmp_path):
    path = tmp_path / name("2024-04-01")
    freqs = np.arange(0.0, 4000.0, 1.953125)  # 2048 bins of 64000/32768 Hz
    write_onc_mat(path, minute_times("2024-04-01", 2), freqs=freqs)
    raw = read_hsd_mat(path)  # ONC's values: power per bin, not a density
    assert raw.attrs["bin_width_correction"] == "not applied"
    assert raw.attrs["long_name"] == "power per frequency bin (dB re 1 µPa² per 1.953125 Hz bin)"
    assert "/Hz" not in raw.attrs["long_name"]
    corrected = read_hsd_mat(path, bin_width_correction=True)
    assert corrected.attrs["long_name"] == "power spectral density (dB re 1 µPa²/Hz)"
    meta = tmp_path / "density-spect.mat"  # the file says it is a density already
    write_onc_mat(meta, minute_times("2024-04-01", 2), meta={"binWidthCorrected": 1.0})
    in_file = read_hsd_mat(meta)
    assert in_file.attrs["bin_width_correction"] == "applied in the file"
    assert in_file.attrs["long_name"] == "power spectral density (dB re 1 µPa²/Hz)"
    joined = open_hsd_files([path])  # the reader of many files keeps the first file's
    assert joined.attrs["long_name"] == raw.attrs["long_name"]
    one_bin = tmp_path / "one-bin-spect.mat"  # a single frequency: no bin width to name
    write_onc_mat(one_bin, minute_times("2024-04-01", 2), freqs=np.array([1000.0]))
    assert read_hsd_mat(one_bin).attrs["long_name"] == (
        "power per frequency bin (dB re 1 µPa² per bin)"
    )


def test_meta_struct_and_explicit_downsample(tmp_path):
    path = tmp_path / "custom.mat"
    write_onc_mat(path, minute_times("2024-04-01", 2), meta={"spectralDataDownsample": 2.0})
    psd = read_hsd_mat(path)
    assert psd.attrs["spectral_data_downsample"] == 2
    assert psd.attrs["meta_spectralDataDownsample"] == 2.0
    assert "device_code" not in psd.attrs
    assert read_hsd_mat(path, downsample=0).attrs["spectral_data_downsample"] == 0


def test_single_time_column_and_infinities(tmp_path):
    times = minute_times("2024-04-01", 1)
    psd = psd_values(FREQS, times)
    psd[0, 0] = -np.inf
    path = tmp_path / "one.mat"
    write_onc_mat(path, times, psd=psd)
    out = read_hsd_mat(path)
    assert out.shape == (1, 400) and np.isneginf(out.values[0, 0])


def test_not_an_hsd_file(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"data": np.zeros(3)})
    with pytest.raises(FileFormatError, match="SpectData.*found 'data'"):
        read_hsd_mat(path)
    write_onc_mat(path, minute_times("2024-04-01", 4), psd=np.zeros((3, 7)))
    with pytest.raises(FileFormatError, match=r"PSD of shape .*\(400, 4\)"):
        read_hsd_mat(path)


def test_open_many_files_joins_along_time(tmp_path):
    for start in ("2024-04-01T00:05", "2024-04-01T00:00", "2024-04-01T00:10"):
        write_onc_mat(tmp_path / name(start), minute_times(start, 5))
    # an overlapping file: its repeated minutes are kept once
    write_onc_mat(tmp_path / name("2024-04-01T00:12"), minute_times("2024-04-01T00:12", 5))
    psd = open_hsd_files(tmp_path)
    np.testing.assert_array_equal(psd["time"].values, minute_times("2024-04-01", 17))
    np.testing.assert_allclose(psd.values, psd_values(FREQS, minute_times("2024-04-01", 17)).T)
    assert len(psd.attrs["source_files"]) == 4 and psd.attrs["units"] == "dB"


def test_open_refuses_different_frequencies(tmp_path):
    write_onc_mat(tmp_path / name("2024-04-01T00:00"), minute_times("2024-04-01", 2))
    write_onc_mat(
        tmp_path / name("2024-04-01T00:02"), minute_times("2024-04-01T00:02", 2), freqs=FREQS[:100]
    )
    with pytest.raises(ValueError, match="other frequencies"):
        open_hsd_files(tmp_path)


def test_write_then_read_round_trip(tmp_path):
    path = tmp_path / name("2024-04-01")
    write_onc_mat(path, minute_times("2024-04-01T00:00:00.500", 4))
    psd = read_hsd_mat(path)
    out = write_hsd_mat(psd, tmp_path / "copy-spect.mat", comment="copy")
    raw = scipy.io.loadmat(out)["SpectData"]
    assert raw["PSD"][0, 0].shape == (400, 4)  # rows = frequency, as ONC writes it
    back = read_hsd_mat(out)
    np.testing.assert_array_equal(back.values, psd.values)
    np.testing.assert_array_equal(back["time"].values, psd["time"].values)
    assert back.attrs["processing_comment"] == "copy"


def test_open_many_files_is_lazy_one_task_per_file(tmp_path):
    import dask

    for start in ("2024-04-01T00:00", "2024-04-01T00:05", "2024-04-01T00:10"):
        write_onc_mat(tmp_path / name(start), minute_times(start, 5))
    psd = open_hsd_files(tmp_path)
    assert dask.is_dask_collection(psd)
    readers = [k for k in dict(psd.__dask_graph__()) if str(k).startswith("onc-hsd-file-")]
    assert len(readers) == 3
    (tmp_path / name("2024-04-01T00:05")).unlink()  # values are read at compute, not at open
    with pytest.raises(FileNotFoundError):
        psd.compute()
