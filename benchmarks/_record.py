"""The one hook every benchmark calls: ``record(name, ratio, baseline=..., target=...)``.

When ``python -m benchmarks`` runs a benchmark it sets ``BENCH_RECORD`` to a JSON-lines file;
each ``record`` call appends one line there (and always prints it), so the runner gathers every
ratio against its named baseline into ``RESULTS.md`` and ``results.png``. A ratio > 1 means
intake-onc is better (faster, or smaller) than the baseline, unless ``higher_is_better=False``.
"""

from __future__ import annotations

import json
import os

__all__ = ["record"]


def record(
    name: str,
    ratio: float,
    *,
    baseline: str,
    target: float,
    higher_is_better: bool = True,
    unit: str = "x",
    note: str = "",
) -> None:
    """Report one measured ratio (``unit`` "x") or value (e.g. "ms") and whether it meets ``target``."""
    met = ratio >= target if higher_is_better else ratio <= target
    line = {
        "name": name,
        "value": round(float(ratio), 3),
        "unit": unit,
        "baseline": baseline,
        "target": target,
        "higher_is_better": higher_is_better,
        "met": bool(met),
        "note": note,
        "bench": os.environ.get("BENCH_NAME", ""),
    }
    print("BENCH-RESULT " + json.dumps(line), flush=True)
    path = os.environ.get("BENCH_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
