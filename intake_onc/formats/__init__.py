"""Local ONC file readers (no HTTP).

* TSSD scalar data — CSV, JSON (OM and ONC encodings) and MAT — to ``xr.Dataset``:
  :func:`read_tssd`;
* HSD spectrograms (MAT v5 ``SpectData``) to ``(time, frequency)`` DataArrays:
  :func:`read_hsd_mat`, :func:`open_hsd_files`, and :func:`write_hsd_mat` for ONC's layout;
* hydrophone archive files: :func:`parse_archive_filename`, :class:`AudioFileInfo`,
  :func:`read_frames` (seeking, not decoding whole files).

Examples
--------
>>> from intake_onc.formats import read_tssd
>>> ds = read_tssd("SBECTD19p6813_20240401T000000.000Z.csv")  # doctest: +SKIP
"""

from intake_onc._core.errors import FileFormatError

from .audio import AudioFileInfo, parse_archive_filename, read_frames
from .hsd import open_hsd_files, read_hsd_mat, write_hsd_mat
from .tssd import read_tssd, read_tssd_table

__all__ = [
    "AudioFileInfo",
    "FileFormatError",
    "open_hsd_files",
    "parse_archive_filename",
    "read_frames",
    "read_hsd_mat",
    "read_tssd",
    "read_tssd_table",
    "write_hsd_mat",
]
