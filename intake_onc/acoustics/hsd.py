"""ONC hydrophone spectral data (HSD) MAT v5 files, read into ``(time, frequency)`` DataArrays.

The layout (onc-api.md §8, semantics.md "Hydrophone spectrograms"): a struct ``SpectData`` with
``PSD`` (rows = frequency, columns = time, dB), ``frequency`` (Hz), ``time`` (MATLAB datenums)
and ``processingComment``; sometimes a ``Meta`` struct. ONC's audio-derived "PSD" was not
divided by the bin width: values are reported as found unless ``bin_width_correction=True``
adds ``10·log10(1/Δf)`` dB; attrs record which.

Examples
--------
>>> psd = open_hsd_files("hsd/")  # doctest: +SKIP
>>> psd.sel(frequency=1000, method="nearest").plot()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from intake_onc._core.errors import FileFormatError
from intake_onc._core.files import atomic_write
from intake_onc._core.matfile import load_mat5
from intake_onc._core.paths import check_path, expand_paths
from intake_onc._core.time import datenums_to_times, datetime64_to_datenum
from intake_onc.acoustics.files import ArchiveName, parse_archive_filename

__all__ = ["DOWNSAMPLE_MODES", "open_hsd_files", "read_hsd_mat", "write_hsd_mat"]

#: ``dpo_spectralDataDownsample`` values and what they mean.
DOWNSAMPLE_MODES = {0: "full resolution", 1: "one-minute averages", 2: "plot resolution"}

_LONG_NAME = "power spectral density (dB re 1 µPa²/Hz)"  # once divided by the bin width


def _long_name(corrected: bool, bin_width_hz: float) -> str:
    """What the values are: a density (dB re 1 µPa²/Hz) once the bin-width correction is
    applied, else ONC's power per frequency bin (dB re 1 µPa² per Δf-Hz bin).

    Examples
    --------
    >>> _long_name(False, 1.953125)
    'power per frequency bin (dB re 1 µPa² per 1.953125 Hz bin)'
    >>> _long_name(True, 10.0)
    'power spectral density (dB re 1 µPa²/Hz)'
    """
    if corrected:
        return _LONG_NAME
    if not np.isfinite(bin_width_hz):
        return "power per frequency bin (dB re 1 µPa² per bin)"
    width = np.format_float_positional(bin_width_hz, trim="-")
    return f"power per frequency bin (dB re 1 µPa² per {width} Hz bin)"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.size == 0:
        return ""
    if arr.dtype.kind in "US":
        return "\n".join(str(v) for v in arr.ravel())
    return str(value)


def _meta_fields(meta: Any) -> dict[str, Any]:
    """Scalar string/number fields of a ``Meta`` struct (booleans as 0/1, netCDF-safe)."""
    fields: dict[str, Any] = {}
    if not isinstance(meta, dict):
        return fields
    for key, value in meta.items():
        if isinstance(value, str):
            fields[key] = value
        elif np.ndim(value) == 0:
            item = np.asarray(value).item()
            if isinstance(item, (bool, int, float)):
                fields[key] = int(item) if isinstance(item, bool) else item
    return fields


def _archive_name(path: str) -> ArchiveName | None:
    """The file's ONC archive name, parsed; ``None`` when it is named otherwise."""
    try:
        return parse_archive_filename(path)
    except ValueError:
        return None


def _downsample_from_name(name: ArchiveName | None) -> int | None:
    # the archived -spect.mat are one-minute averages
    return 1 if name is not None and name.suffix == "spect" else None


def _bin_width(frequency: np.ndarray) -> np.ndarray:
    if len(frequency) < 2:
        raise ValueError("bin_width_correction: needs at least two frequencies to know Δf")
    return np.gradient(frequency)


def read_hsd_mat(
    path: str | os.PathLike,
    *,
    bin_width_correction: bool = False,
    downsample: int | None = None,
) -> xr.DataArray:
    """Read one ONC HSD MAT file into a ``(time, frequency)`` DataArray of dB values.

    Parameters
    ----------
    path
        A MAT v5 file holding the ``SpectData`` struct.
    bin_width_correction
        Add ``10·log10(1/Δf)`` dB (Δf from the frequency spacing) to turn ONC's per-bin
        power into a density; off by default (values as found). Recorded in attrs.
    downsample
        ``dpo_spectralDataDownsample`` of the file (0 full, 1 one-minute, 2 plot resolution),
        when known; otherwise taken from ``Meta`` or, for archived ``-spect.mat`` files, 1.

    Returns
    -------
    xarray.DataArray
        dims ``("time", "frequency")``, ``time`` UTC datetime64 (to the millisecond),
        ``frequency`` in Hz; attrs ``units``, ``long_name`` (``"power spectral density (dB
        re 1 µPa²/Hz)"`` when corrected, else ``"power per frequency bin (dB re 1 µPa² per
        <Δf> Hz bin)"``), ``processing_comment``, ``bin_width_correction``,
        ``bin_width_hz``, ``spectral_data_downsample`` (if known), ``device_code`` (from an
        ONC name), ``source_files``.

    Raises
    ------
    FileFormatError
        When the file has no ``SpectData`` struct or its fields do not fit together.

    Examples
    --------
    >>> psd = read_hsd_mat("ICLISTENHF6093_20240401T000000.000Z-spect.mat")  # doctest: +SKIP
    >>> psd.dims  # doctest: +SKIP
    ('time', 'frequency')
    """
    path = check_path(path, argument="path")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no file {path!r}; pass an existing HSD MAT file")
    mat = load_mat5(path)  # structure checked before scipy reads it: an error, never a crash
    spect = mat.get("SpectData")
    if not isinstance(spect, dict):
        found = ", ".join(k for k in mat if not k.startswith("__"))
        raise FileFormatError(path, None, "a struct 'SpectData'", found=found or "no variables")
    for key in ("PSD", "frequency", "time"):
        if key not in spect:
            raise FileFormatError(path, None, f"field SpectData.{key}", found=", ".join(spect))
    frequency = np.atleast_1d(np.asarray(spect["frequency"], dtype="float64")).ravel()
    datenums = np.atleast_1d(np.asarray(spect["time"], dtype="float64")).ravel()
    psd = np.asarray(spect["PSD"])
    nf, nt = len(frequency), len(datenums)
    if psd.shape == (nf, nt) or (psd.ndim < 2 and psd.size == nf * nt):
        values = psd.reshape(nf, nt).T
    elif psd.shape == (nt, nf):  # written time-major: still unambiguous
        values = psd
    else:
        raise FileFormatError(
            path,
            None,
            f"SpectData.PSD of shape (frequency, time) = ({nf}, {nt})",
            found=str(psd.shape),
        )
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype("float64")
    times = datenums_to_times(datenums)
    meta = _meta_fields(mat.get("Meta"))
    name = _archive_name(path)
    if downsample is None:
        downsample = meta.get("spectralDataDownsample", _downsample_from_name(name))
    widths = _bin_width(frequency) if bin_width_correction or nf > 1 else np.array([np.nan])
    in_file = bool(meta.get("binWidthCorrected", 0))  # the file says it is a density already
    if bin_width_correction and not in_file:
        values = values + (10 * np.log10(1 / widths)).astype(values.dtype)
        correction = "applied"
        note = "10*log10(1/df) dB added to ONC's per-bin power to make it a density"
    elif in_file:
        correction = "applied in the file"
        note = "the file's Meta.binWidthCorrected says the values are a density already"
    else:
        correction = "not applied"
        note = (
            "values as found: ONC's audio-derived PSD is power per bin (not divided by the "
            "bin width); bin_width_correction=True adds 10*log10(1/df) dB"
        )
    attrs: dict[str, Any] = {
        "units": "dB",
        "long_name": _long_name(correction != "not applied", float(np.median(widths))),
        "processing_comment": _text(spect.get("processingComment", "")),
        "processing": "ONC: Welch, Hann window, 50 % overlap, calibrated (as documented)",
        "window": str(meta.get("windowFunction", "hann")),
        "overlap": float(meta.get("overlap", 0.5)),
        "bin_width_correction": correction,
        "bin_width_hz": float(np.median(widths)),
        "comment": note,
        "source_files": [os.path.basename(path)],
    }
    if downsample is not None:
        attrs["spectral_data_downsample"] = int(downsample)
        attrs["spectral_data_downsample_meaning"] = DOWNSAMPLE_MODES.get(int(downsample), "")
    if name is not None:
        attrs["device_code"] = name.device_code
    if "device_code" not in attrs and isinstance(meta.get("deviceCode"), str):
        attrs["device_code"] = meta["deviceCode"]
    attrs.update({f"meta_{k}": v for k, v in meta.items()})
    return xr.DataArray(
        values,
        dims=("time", "frequency"),
        coords={
            "time": ("time", times, {"long_name": "time (UTC)"}),
            "frequency": (
                "frequency",
                frequency,
                {"units": "Hz", "standard_name": "sound_frequency", "long_name": "frequency"},
            ),
        },
        attrs=attrs,
        name="psd",
    )


def _hsd_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    return expand_paths(paths, argument="paths", suffixes=(".mat",), what="HSD MAT files")


def _read_values(path: str, bin_width_correction: bool, downsample: int | None) -> np.ndarray:
    """The dask task of one file: its spectral values."""
    part = read_hsd_mat(path, bin_width_correction=bin_width_correction, downsample=downsample)
    return np.asarray(part.values)


def _lazy_hsd(path: str, bin_width_correction: bool, downsample: int | None) -> xr.DataArray:
    """One file's spectrogram with its values replaced by a dask task that reads them."""
    import dask
    import dask.array as dsa

    part = read_hsd_mat(path, bin_width_correction=bin_width_correction, downsample=downsample)
    name = f"onc-hsd-file-{dask.base.tokenize(path, os.path.getmtime(path), bin_width_correction, downsample)}"
    task = dask.delayed(_read_values, pure=True)(
        path, bin_width_correction, downsample, dask_key_name=name
    )
    values = dsa.from_delayed(task, shape=part.shape, dtype=part.dtype)
    return part.copy(data=values)


def open_hsd_files(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    bin_width_correction: bool = False,
    downsample: int | None = None,
) -> xr.DataArray:
    """Open many HSD MAT files as one lazy DataArray along time (sorted; repeated times once).

    Lazy: one dask task per file reads its spectral values when computed. Opening reads each
    file's axes and metadata (MAT v5 keeps them in one struct with the values, so the file is
    read and its values dropped); nothing of the values is kept in memory.

    Parameters
    ----------
    paths
        A folder (its ``.mat`` files), one file, or a list of files.
    bin_width_correction, downsample
        As for :func:`read_hsd_mat`.

    Returns
    -------
    xarray.DataArray
        As :func:`read_hsd_mat`, ``source_files`` listing every file.

    Raises
    ------
    ValueError
        When the files have different frequency axes (open them separately).

    Examples
    --------
    >>> psd = open_hsd_files(["a-spect.mat", "b-spect.mat"])  # doctest: +SKIP
    """
    files = _hsd_paths(paths)
    if not files:
        raise ValueError("paths: no files given")
    parts = [_lazy_hsd(p, bin_width_correction, downsample) for p in files]
    first = parts[0]
    for path, part in zip(files[1:], parts[1:], strict=True):
        if part.sizes["frequency"] != first.sizes["frequency"] or not np.allclose(
            part["frequency"].values, first["frequency"].values
        ):
            raise ValueError(
                f"paths: {os.path.basename(path)} has other frequencies than {files[0]}; "
                "open files of different resolutions separately"
            )
    if len(parts) == 1:
        return first
    joined = xr.concat(
        [p.assign_coords(frequency=first["frequency"]) for p in parts],
        dim="time",
        combine_attrs="drop_conflicts",
    )
    order = np.argsort(joined["time"].values, kind="stable")
    joined = joined.isel(time=order)
    _, first_of_each = np.unique(joined["time"].values, return_index=True)
    joined = joined.isel(time=np.sort(first_of_each))
    joined.attrs.update(first.attrs)
    joined.attrs["source_files"] = [os.path.basename(p) for p in files]
    for key in ("processing_comment", "device_code"):
        values = {p.attrs.get(key) for p in parts}
        if len(values) > 1:
            joined.attrs[key] = "; ".join(sorted(str(v) for v in values if v))
    return joined


def write_hsd_mat(
    psd: xr.DataArray,
    path: str | os.PathLike,
    comment: str = "",
    *,
    dtype: str = "float64",
    compress: bool = False,
) -> Path:
    """Write a ``(time, frequency)`` spectrogram the way ONC's HSD MAT files are laid out.

    ``SpectData.PSD`` (rows = frequency, columns = time), ``frequency`` (Hz), ``time``
    (datenums) and ``processingComment``; ``dtype``/``compress``: ONC's float64 uncompressed by
    default, ``"float32"`` and ``True`` for files 2.5 times smaller; written atomically
    (:func:`~intake_onc._core.files.atomic_write`: a temporary name, then renamed).

    Examples
    --------
    >>> write_hsd_mat(spec, "out/ICLISTENHF6093_20240401T000000.000Z-spect.mat")  # doctest: +SKIP
    """
    import scipy.io

    if psd.dims != ("time", "frequency"):
        raise ValueError(f"psd: expected dims ('time', 'frequency'), got {psd.dims}")
    target = Path(path)
    spect = {
        "PSD": np.asarray(psd.values, dtype=dtype).T,
        "frequency": np.asarray(psd["frequency"].values, dtype="float64"),
        "time": datetime64_to_datenum(psd["time"].values),
        "processingComment": comment or str(psd.attrs.get("processing_comment", "")),
    }
    with atomic_write(target, "wb", mkdir=False) as f:
        scipy.io.savemat(f, {"SpectData": spect}, do_compression=compress, oned_as="column")
    return target
