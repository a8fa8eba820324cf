"""Hydrophone spectral data (HSD): the data product, and the spectrogram side's public names.

The spectrograms are computed by :mod:`intake_onc.sandbox.synthetic.spectra` (processing, units) and
written by :mod:`intake_onc.sandbox.encoders.spectrogram` (MAT and PNG bytes, the archive ``-spect.mat``
and ``-spect.png`` files); their names are re-exported here, the import path other code uses.
This module builds the ``HSD`` data product (:func:`build_hsd_files`).

HSD product file names: ``<DEVICE>_<YYYYMMDDThhmmss.fffZ>-spect[<res>][<concat>].<mat|png>``
with the stamp of the group's first source file, ``<res>`` = ``""`` (mode 1), ``-plotRes``
(2), ``-fullRes`` (0) and ``<concat>`` = ``""`` (None), ``-DAILY``, ``-WEEKLY``, ``-COLLATE``
(Concatenate), ``-ADJACENT`` (Daily: UTC day of the file start; Weekly: Monday-based weeks;
Adjacent: runs of files without a missing one). Mode 1 without concatenation gives exactly the
archive files (same names, same bytes; for PNG when the plot options are the defaults). Other
PNGs plot the requested resolution (colour limits, palette, frequency limit applied).
Whole source files are used (products are not clipped to the requested range).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from intake_onc._core.time import filename_timestamp
from intake_onc.sandbox.archive.files import archive_file_bytes
from intake_onc.sandbox.archive.listing import overlapping_audio
from intake_onc.sandbox.encoders.spectrogram import (
    PALETTES,
    PNG_TARGET_BYTES,
    mat_bytes,
    png_bytes,
)
from intake_onc.sandbox.synthetic.audio import (
    check_seed,
    file_samples,
    hydrophone,
)
from intake_onc.sandbox.synthetic.spectra import Spectrogram, file_spectrogram, spectrogram_shape

__all__ = ["build_hsd_files", "estimate_hsd_size", "hsd_file_names", "iter_hsd_files"]

#: Refuse to build one HSD output file bigger than this (ask for fewer files or mode 1/2).
MAX_PRODUCT_BYTES = 2 * 1024**3

_RES_TAG = {1: "", 2: "-plotRes", 0: "-fullRes"}
_CONCAT_TAG = {
    "None": "",
    "Daily": "-DAILY",
    "Weekly": "-WEEKLY",
    "Concatenate": "-COLLATE",
    "Adjacent": "-ADJACENT",
}


def _concat(parts: list[Spectrogram], concatenation: str) -> Spectrogram:
    if len(parts) == 1:
        return replace(parts[0], concatenation=concatenation)
    return replace(
        parts[0],
        psd_db=np.concatenate([p.psd_db for p in parts], axis=1),
        time=np.concatenate([p.time for p in parts]),
        date_to=parts[-1].date_to,
        concatenation=concatenation,
    )


# ----------------------------------------------------------------------------------------------
# HSD data products
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HsdOptions:
    downsample: int
    concatenation: str
    clim: tuple[float, float] | None
    palette: int
    fmax: float | None


def _parse_options(options: dict | None) -> _HsdOptions:
    opts = dict(options or {})

    def get(name: str, default: str) -> str:
        value = opts.get(name, default)
        return default if value is None else str(value).strip()

    def number(name: str, default: str) -> float:
        text = get(name, default)
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {text!r}") from None

    ds = get("dpo_spectralDataDownsample", "1")
    if ds not in ("0", "1", "2"):
        raise ValueError(
            f"dpo_spectralDataDownsample: expected 0 (full), 1 (one-minute) or "
            f"2 (plot resolution), got {ds!r}"
        )
    concat = get("dpo_spectrogramConcatenation", "None")
    if concat not in _CONCAT_TAG:
        raise ValueError(
            f"dpo_spectrogramConcatenation: expected one of "
            f"{', '.join(_CONCAT_TAG)}, got {concat!r}"
        )
    lo = number("dpo_lowerColourLimit", "-1000")
    hi = number("dpo_upperColourLimit", "-1000")
    clim = None
    if lo != -1000 or hi != -1000:
        if lo == -1000 or hi == -1000 or lo >= hi:
            raise ValueError(
                "dpo_lowerColourLimit/dpo_upperColourLimit: give both (lower < "
                f"upper, dB) or leave both at -1000 (auto); got {lo:g}, {hi:g}"
            )
        clim = (lo, hi)
    palette = int(number("dpo_spectrogramColourPalette", "0"))
    if palette not in PALETTES:
        raise ValueError(f"dpo_spectrogramColourPalette: expected 0-5, got {palette}")
    fmax = number("dpo_spectrogramFrequencyUpperLimit", "-1")
    return _HsdOptions(int(ds), concat, clim, palette, fmax if fmax > 0 else None)


def _groups(rows: pd.DataFrame, concatenation: str) -> list[pd.DataFrame]:
    if rows.empty:
        return []
    if concatenation == "None":
        return [rows.iloc[[i]] for i in range(len(rows))]
    starts = rows["start_time"]
    if concatenation == "Concatenate":
        key = np.zeros(len(rows), dtype=np.int64)
    elif concatenation == "Daily":
        key = starts.dt.floor("D").astype("int64").to_numpy()
    elif concatenation == "Weekly":
        day = starts.dt.floor("D")
        key = (day - pd.to_timedelta(day.dt.dayofweek, unit="D")).astype("int64").to_numpy()
    else:  # Adjacent: a new group after a gap of more than 5 s (a missing file)
        gap = (starts - rows["end_time"].shift()).dt.total_seconds().to_numpy()
        key = np.cumsum(~(gap <= 5.0))
    return [rows.iloc[idx] for idx in pd.Series(range(len(rows))).groupby(key).indices.values()]


def _product_name(
    device_code: str, first_start: pd.Timestamp, opts: _HsdOptions, extension: str
) -> str:
    return (
        f"{device_code}_{filename_timestamp(first_start)}-spect{_RES_TAG[opts.downsample]}"
        f"{_CONCAT_TAG[opts.concatenation]}.{extension}"
    )


def _plan(device_code, start, end, extension, options, seed, now):
    extension = str(extension).lower().lstrip(".")
    if extension not in ("mat", "png"):
        raise ValueError(f"extension: HSD files are 'mat' or 'png', got {extension!r}")
    opts = _parse_options(options)
    seed = check_seed(seed)
    hydrophone(device_code)  # a readable error for a non-hydrophone before the dates' errors
    rows = overlapping_audio(device_code, start, end, seed, now)
    groups = _groups(rows, opts.concatenation)
    names = [_product_name(device_code, g["start_time"].iloc[0], opts, extension) for g in groups]
    return extension, opts, seed, groups, names


def _shape(device_code: str, downsample: int, n_files: int) -> tuple[int, int]:
    fs = hydrophone(device_code).audio.sample_rate
    rows, columns = spectrogram_shape(fs, file_samples(device_code), downsample)
    return rows, n_files * columns


def hsd_file_names(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> list[str]:
    """Names of the files :func:`build_hsd_files` would return, without computing them."""
    return _plan(device_code, start, end, extension, options, seed, now)[4]


def estimate_hsd_size(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> int:
    """Approximate total bytes of an HSD request (cheap: only the listing)."""
    extension, opts, seed, groups, _ = _plan(device_code, start, end, extension, options, seed, now)
    if extension == "png":
        return len(groups) * (PNG_TARGET_BYTES if opts.downsample == 1 else 400_000)
    total = 0
    for g in groups:
        f, t = _shape(device_code, opts.downsample, len(g))
        total += 8 * f * (t + 1) + 8 * t + 2000
    return total


def iter_hsd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
):
    """Generator form of :func:`build_hsd_files`: yields ``(name, bytes)`` one at a time."""
    extension, opts, seed, groups, names = _plan(
        device_code, start, end, extension, options, seed, now
    )
    archive_like = (
        opts.downsample == 1
        and opts.concatenation == "None"
        and opts.clim is None
        and opts.palette == 0
        and opts.fmax is None
    )
    for group, name in zip(groups, names, strict=True):
        if (
            opts.downsample == 1
            and opts.concatenation == "None"
            and (extension == "mat" or archive_like)
        ):
            # The pre-generated one-minute files are the archive files themselves.
            archive_name = group["filename"].iloc[0].rsplit(".", 1)[0] + f"-spect.{extension}"
            yield name, archive_file_bytes(archive_name, seed=seed, now=now)
            continue
        f, t = _shape(device_code, opts.downsample, len(group))
        if 8 * f * t > MAX_PRODUCT_BYTES:
            raise ValueError(
                f"HSD {name}: {f} × {t} values ({8 * f * t / 1e9:.1f} GB) is too large; ask for "
                "fewer files, no concatenation, or dpo_spectralDataDownsample=1 or 2"
            )
        parts = [
            file_spectrogram(device_code, ts, opts.downsample, seed=seed)
            for ts in group["start_time"]
        ]
        spec = _concat(parts, opts.concatenation)
        if extension == "mat":
            yield name, mat_bytes(spec)
        else:
            yield name, png_bytes(spec, clim=opts.clim, palette=opts.palette, fmax=opts.fmax)


def build_hsd_files(
    device_code: str,
    start: object,
    end: object,
    extension: str,
    options: dict | None = None,
    *,
    seed: int = 0,
    now: object = None,
) -> list[tuple[str, bytes]]:
    """Files of data product ``HSD`` for every archive audio file overlapping ``[start, end)``.

    Options (strings as on the wire; missing: ONC defaults): ``dpo_spectralDataDownsample``
    (0/1/2), ``dpo_spectrogramConcatenation`` (None, Daily, Weekly, Concatenate, Adjacent),
    PNG only: ``dpo_lowerColourLimit``/``dpo_upperColourLimit`` (-1000: auto),
    ``dpo_spectrogramColourPalette`` (0 jet, 1 viridis, 2 gray, 3 hot, 4 cividis, 5 magma),
    ``dpo_spectrogramFrequencyUpperLimit`` (-1: Nyquist). ``dpo_spectrogramSource`` and the
    hydrophone channel/mode options are accepted and ignored. Whole source files are used
    (not clipped to the range). Raises ``ValueError`` naming a bad option.
    """
    return list(iter_hsd_files(device_code, start, end, extension, options, seed=seed, now=now))
