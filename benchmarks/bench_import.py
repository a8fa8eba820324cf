"""What the plugin adds to ``import intake``: fresh interpreters, with and without intake-onc.

``import intake`` imports every ``intake.imports`` entry point, so intake-onc's entry module
(``intake_onc.readers``) is loaded on every ``import intake`` (reference/intake2.md, gotcha 6).
This runs ``python -c "import intake"`` in fresh processes, alternating with the plugin loaded
and blocked (``INTAKE_IMPORT_BLOCK_LIST="['intake_onc']"``, intake's own configuration), and
prints the medians and their difference. Target: the plugin adds under 50 ms.

Usage::

    python benchmarks/bench_import.py [--reps 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import record  # noqa: E402

CODE = "import intake"


def run_once(block: bool) -> float:
    env = dict(os.environ)
    if block:
        env["INTAKE_IMPORT_BLOCK_LIST"] = "['intake_onc']"
    else:
        env.pop("INTAKE_IMPORT_BLOCK_LIST", None)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE], env=env, check=True)
    return time.perf_counter() - t0


def loaded_modules() -> tuple[bool, bool]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, intake; print('intake_onc.readers' in sys.modules, 'xarray' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0] == "True", out[1] == "True"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args(argv)
    run_once(False), run_once(True)  # warm the file cache
    with_plugin, without = [], []
    for _ in range(args.reps):  # alternate, so drift hits both sides alike
        with_plugin.append(run_once(False))
        without.append(run_once(True))
    plugin, xarray = loaded_modules()
    a, b = statistics.median(with_plugin), statistics.median(without)
    paired = statistics.median(x - y for x, y in zip(with_plugin, without, strict=True))
    print(f"import intake, plugin loaded ({plugin}; xarray loaded: {xarray}): {a * 1e3:.1f} ms")
    print(f"import intake, plugin blocked:  {b * 1e3:.1f} ms")
    print(f"plugin adds (median of paired differences): {paired * 1e3:.1f} ms  (target < 50 ms)")
    record(
        "import intake: plugin cost",
        paired * 1e3,
        baseline="import intake, plugin blocked",
        target=50,
        higher_is_better=False,
        unit="ms",
    )


if __name__ == "__main__":
    main()
