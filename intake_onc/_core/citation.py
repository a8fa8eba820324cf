"""ONC's data citations: parsed once, written as text, BibTeX and dataset attributes.

ONC answers most requests with ``citations``: a list of
``{citation, doi, landingPageUrl, queryPid}`` objects (onc-api.md §2, §3), and each deployment
carries one. The ``citation`` text has a fixed shape::

    Ocean Networks Canada Society. 2016. Bullseye Conductivity Temperature Depth Deployed
    2016-06-24. Ocean Networks Canada Society. https://doi.org/10.34943/e4166edb-....
    Subset Query: 33282795. Accessed 2025-12-04.

:class:`Citation` keeps the four fields and reads author, year and title from that text when it
has this shape (and falls back to the whole text when it does not), so ``fetch`` writes
``CITATION.txt``/``CITATION.bib`` and the readers set the ``citation``, ``references`` and
``doi`` attributes of their datasets from the same object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Citation", "citation_attrs"]

# "Author. 2016. Title. Publisher. https://doi.org/..." (the title may hold dots of its own, so
# it runs up to the last "<publisher>. https://" part).
_SHAPE = re.compile(
    r"^(?P<author>[^.]+(?:\.[^ .][^.]*)*)\.\s+(?P<year>(?:19|20)\d\d)\.\s+(?P<title>.+?)\.\s+"
    r"(?P<publisher>[^.]+)\.\s+https?://",
    re.S,
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")


def _bib_escape(text: str) -> str:
    return re.sub(r"([{}\\%&$#_])", r"\\\1", " ".join(str(text).split()))


@dataclass(frozen=True)
class Citation:
    """One data citation as ONC gives it.

    Examples
    --------
    >>> c = Citation.from_onc({
    ...     "citation": "Ocean Networks Canada Society. 2016. Bullseye Conductivity Temperature "
    ...     "Depth Deployed 2016-06-24. Ocean Networks Canada Society. "
    ...     "https://doi.org/10.34943/e4166edb. Accessed 2025-12-04.",
    ...     "doi": "10.34943/e4166edb", "landingPageUrl": "https://doi.org/10.34943/e4166edb",
    ...     "queryPid": None})
    >>> c.year, c.title
    ('2016', 'Bullseye Conductivity Temperature Depth Deployed 2016-06-24')
    >>> c.reference
    'https://doi.org/10.34943/e4166edb'
    """

    text: str
    doi: str = ""
    landing_page: str = ""
    query_pid: str = ""

    @classmethod
    def from_onc(cls, item: Any) -> Citation | None:
        """A citation from one ONC ``citations`` item (a dict, or a bare string); ``None`` for
        an empty or unreadable item."""
        if isinstance(item, str):
            item = {"citation": item}
        if not isinstance(item, Mapping):
            return None
        text = " ".join(str(item.get("citation") or "").split())
        doi = str(item.get("doi") or "").strip()
        if not doi:
            found = _DOI.search(text)
            doi = found.group(1).rstrip(".,)") if found else ""
        pid = item.get("queryPid")
        landing = str(item.get("landingPageUrl") or "").strip()
        if not (text or doi):
            return None
        return cls(text, doi, landing, "" if pid in (None, "") else str(pid))

    @property
    def _parts(self) -> dict[str, str]:
        found = _SHAPE.match(self.text)
        return found.groupdict() if found else {}

    @property
    def year(self) -> str:
        """The publication year (``""`` when the text does not state one)."""
        return self._parts.get("year", "")

    @property
    def title(self) -> str:
        """The dataset's title (the whole text when it does not have ONC's shape)."""
        return self._parts.get("title", self.text)

    @property
    def author(self) -> str:
        """The author (ONC: ``Ocean Networks Canada Society``)."""
        return self._parts.get("author", "Ocean Networks Canada Society")

    @property
    def reference(self) -> str:
        """A resolvable link: the DOI's URL, else the landing page (``""`` when neither)."""
        return f"https://doi.org/{self.doi}" if self.doi else self.landing_page

    def to_text(self) -> str:
        """The lines of ``CITATION.txt``: the text, then DOI, landing page and query PID."""
        lines = [self.text or f"{self.author}. {self.title}."]
        if self.doi:
            lines.append(f"DOI: {self.doi}")
        if self.landing_page:
            lines.append(f"Landing page: {self.landing_page}")
        if self.query_pid:
            lines.append(f"Query PID: {self.query_pid}")
        return "\n".join(lines) + "\n"

    def to_bibtex(self, key: str) -> str:
        """A BibTeX ``@misc`` entry named ``key`` (fields escaped; the full text as ``note``).

        Examples
        --------
        >>> print(Citation("A. 2020. T_1. P. https://doi.org/10.1/x.", "10.1/x").to_bibtex("k"), end="")
        @misc{k,
          author = {{A}},
          title = {T\\_1},
          year = {2020},
          publisher = {P},
          doi = {10.1/x},
          url = {https://doi.org/10.1/x},
          note = {A. 2020. T\\_1. P. https://doi.org/10.1/x.}
        }
        """
        key = re.sub(r"[^A-Za-z0-9_:-]+", "_", key).strip("_") or "onc"
        fields = [
            ("author", "{" + _bib_escape(self.author) + "}"),
            ("title", _bib_escape(self.title)),
            ("year", self.year),
            ("publisher", _bib_escape(self._parts.get("publisher", self.author))),
            ("doi", self.doi),
            ("url", self.reference),
            ("note", _bib_escape(self.text)),
        ]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        return f"@misc{{{key},\n{body}\n}}\n"


def citation_attrs(citations: Iterable[Citation | None]) -> dict[str, str]:
    """Dataset attributes for ``citations``: ``citation`` (texts, one per line), ``doi`` and
    ``references`` (the DOIs and their links, comma-separated); empty ones are left out.

    Examples
    --------
    >>> citation_attrs([Citation("X. 2020. T. P. https://doi.org/10.1/a.", "10.1/a")])
    {'citation': 'X. 2020. T. P. https://doi.org/10.1/a.', 'doi': '10.1/a', 'references': 'https://doi.org/10.1/a'}
    """
    seen = list(dict.fromkeys(c for c in citations if c is not None))
    attrs = {
        "citation": "\n".join(dict.fromkeys(c.text for c in seen if c.text)),
        "doi": ", ".join(dict.fromkeys(c.doi for c in seen if c.doi)),
        "references": ", ".join(dict.fromkeys(c.reference for c in seen if c.reference)),
    }
    return {k: v for k, v in attrs.items() if v}
