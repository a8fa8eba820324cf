"""Local ONC file readers (no HTTP): TSSD CSV/JSON/MAT to ``xr.Dataset``.

Examples
--------
>>> from intake_onc.formats import read_tssd
>>> ds = read_tssd("SBECTD19p6813_20240401T000000.000Z.csv")  # doctest: +SKIP
"""

from .errors import FileFormatError
from .tssd import read_tssd, read_tssd_table

__all__ = [
    "FileFormatError",
    "read_tssd",
    "read_tssd_table",
]
