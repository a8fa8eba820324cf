"""Lazy open of a year of 64 kHz audio: ``open_audio("ICLISTENHF6324", 2024-01-01, 2025-01-01)``.

Target (performance.md): building a dataset over a year of audio (~105,000 archive files) makes
no file download, a handful of listing requests, and takes under a second.

The sandbox runs in a child process (its own CPU), so the time the client waits for it is
measured apart from the client's own work:

* ``server`` — per request, ``response.elapsed`` (request sent → headers parsed): the sandbox
  builds the whole answer before it sends the headers, so this is its processing time;
* ``transfer`` — reading the body: the rest of each request's wall time, plus, for answers
  streamed and read in one call (``intake_onc.client._http._read_body``), that call;
* ``client`` — everything else, split into ``JSON`` (``HTTPCore.get_json`` minus its requests:
  token scrubbing and ``json.loads`` of every answer), ``listing table`` (``archive_files``
  minus its ``get_json`` calls: the files DataFrame, trimming and sorting), ``plan + graph``
  (``intake_onc.acoustics.windows.audio_from_table``: the window plan and the dask graph) and ``other``
  (the rest: the deployment check, the file table of ``open_audio``, the header parse).

Opens: ``cold`` (first open: the sandbox builds the year's listing and, without
``sample_rate=``, generates the first file for the 64 KiB header probe), then ``warm`` repeats
(listing cached server-side; the probed header remembered in-process) with and without
``sample_rate=64000``, and with ``chunk=3600`` (fewer dask tasks). Requests are counted per path
from the sandbox's stats.

``--baseline DIR`` measures another version of the package side by side: ``DIR`` is a source
tree (e.g. ``git archive <commit> | tar -x -C DIR``); each round runs this script once with the
current package and once with ``PYTHONPATH=DIR`` (alternating, each in a fresh process with its
own sandbox, ``--repeat 1``), and the table gives medians over the rounds for both.

Run: ``python benchmarks/bench_lazy_open.py [--repeat 3] [--baseline DIR] [--write-results]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sandbox_proc import spawn, stop, write_section  # noqa: E402

import intake_onc.acoustics.windows as audio_module  # noqa: E402
import intake_onc.client._http as http_module  # noqa: E402
from intake_onc.client import ONCClient  # noqa: E402
from intake_onc.datasets import open_audio  # noqa: E402
from intake_onc.sandbox import SANDBOX_TOKEN  # noqa: E402

DEVICE = "ICLISTENHF6324"
START, END = "2024-01-01", "2025-01-01"
VARIANTS = {
    "warm, header remembered": {},
    "warm, sample_rate=64000": {"sample_rate": 64000},
    "warm, sample_rate=64000, chunk=3600": {"sample_rate": 64000, "chunk": 3600},
}
TIMES = ("total", "server", "transfer", "client", "json", "table", "plan", "other")


class Meter:
    """Time spent in HTTP requests (server / transfer) and in instrumented functions."""

    def __init__(self, client: ONCClient) -> None:
        self.reset()
        core = client._core
        session = core.session
        original = session.request

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            resp = original(*args, **kwargs)
            wall = time.perf_counter() - t0  # body read too (stream=False), headers only else
            self.server += resp.elapsed.total_seconds()
            self.transfer += max(0.0, wall - resp.elapsed.total_seconds())
            return resp

        session.request = timed
        if hasattr(http_module, "_read_body"):  # streamed JSON bodies, read in one call
            read_body = http_module._read_body

            def timed_read(resp):
                t0 = time.perf_counter()
                try:
                    return read_body(resp)
                finally:
                    self.transfer += time.perf_counter() - t0

            http_module._read_body = timed_read
        self._wrap(core, "get_json")  # instance attributes: this client only
        self._wrap(client, "archive_files")
        self._wrap(audio_module, "audio_from_table")

    def reset(self) -> None:
        self.server = self.transfer = 0.0
        self.spent: dict[str, float] = {}
        self.active: list[str] = []

    def _wrap(self, owner, name: str) -> None:
        """Time ``owner.name`` minus the requests it makes (its own work)."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            http0 = self.server + self.transfer
            self.active.append(name)
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t0 - (self.server + self.transfer - http0)
                self.active.pop()
                self.add(name, spent)
                if "archive_files" in self.active:
                    self.add(f"{name} in archive_files", spent)

        setattr(owner, name, timed)

    def add(self, key: str, seconds: float) -> None:
        self.spent[key] = self.spent.get(key, 0.0) + seconds


def paths(url: str) -> dict[str, int]:
    return requests.get(f"{url}/_sandbox/stats", timeout=60).json()["paths"]


@contextmanager
def counted(url: str, out: dict):
    before = paths(url)
    yield
    after = paths(url)
    out.update({k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)})


def one_open(client, meter, url, label, **kwargs) -> dict:
    meter.reset()
    reqs: dict[str, int] = {}
    with counted(url, reqs):
        t0 = time.perf_counter()
        audio = open_audio(DEVICE, START, END, client=client, **kwargs)
        total = time.perf_counter() - t0
    http = meter.server + meter.transfer
    spent = meter.spent
    json_s = spent.get("get_json", 0.0)
    table = spent.get("archive_files", 0.0) - spent.get("get_json in archive_files", 0.0)
    plan = spent.get("audio_from_table", 0.0)
    client_s = total - http
    return {
        "label": label,
        "total": total,
        "server": meter.server,
        "transfer": meter.transfer,
        "client": client_s,
        "json": json_s,
        "table": table,
        "plan": plan,
        "other": client_s - json_s - table - plan,
        "listing": sum(v for k, v in reqs.items() if "archivefile/device" in k),
        "download": reqs.get("/api/archivefile/download", 0),
        "other_requests": sum(v for k, v in reqs.items() if "archivefile" not in k),
        "files": audio.attrs["files_listed"],
        "samples": audio.sizes["time"],
        "tasks": audio.data.npartitions,
    }


def measure(repeat: int) -> tuple[list[dict], int]:
    """The cold open, then ``repeat`` rounds of the warm variants (alternating); medians."""
    with tempfile.TemporaryDirectory() as tmp:
        url, proc = spawn(os.path.join(tmp, "sandbox-files"))
        try:
            client = ONCClient(token=SANDBOX_TOKEN, base_url=url, cache_dir=Path(tmp) / "cache")
            meter = Meter(client)
            runs: dict[str, list[dict]] = {
                "cold, header probe": [one_open(client, meter, url, "cold, header probe")]
            }
            for _ in range(repeat):
                for label, kwargs in VARIANTS.items():
                    runs.setdefault(label, []).append(one_open(client, meter, url, label, **kwargs))
            cached = len(list(Path(tmp, "cache").rglob("*.flac")))
        finally:
            stop(proc)
    return [median_row(results) for results in runs.values()], cached


def median_row(results: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in results) for k in TIMES}
    return {**results[0], **med, "runs": len(results)}


def side_by_side(repeat: int, baseline: str) -> tuple[dict[str, list[dict]], int]:
    """``repeat`` rounds, each running this script in a fresh process for the current package
    and for the one in ``baseline`` (alternating); medians per open and version."""
    runs: dict[str, dict[str, list[dict]]] = {"after": {}, "before": {}}
    cached = 0
    import intake_onc

    here = str(Path(intake_onc.__file__).resolve().parents[1])
    for _ in range(repeat):
        for version in ("after", "before"):
            env = dict(os.environ)
            root = here if version == "after" else os.path.abspath(baseline)
            env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            )
            out = subprocess.run(  # in `root`: the sandbox child (python -c) imports from ""
                [sys.executable, os.path.abspath(__file__), "--repeat", "1", "--json"],
                env=env,
                cwd=root,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            cached = max(cached, result["cached"])
            for row in result["rows"]:
                runs[version].setdefault(row["label"], []).append(row)
    return {v: [median_row(rs) for rs in by.values()] for v, by in runs.items()}, cached


HEAD = (
    "| open | version | total s | server s | transfer s | client s | of which: JSON s | "
    "listing table s | plan + graph s | other s | listing requests | download requests | "
    "other requests | files | dask tasks |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def line(r: dict, version: str) -> str:
    return (
        f"| {r['label']} | {version} | {r['total']:.2f} | {r['server']:.2f} | "
        f"{r['transfer']:.2f} | {r['client']:.2f} | {r['json']:.2f} | {r['table']:.2f} | "
        f"{r['plan']:.2f} | {r['other']:.2f} | {r['listing']} | {r['download']} | "
        f"{r['other_requests']} | {r['files']:,} | {r['tasks']:,} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="DIR", help="source tree of the version to compare")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    if args.json:
        rows, cached = measure(args.repeat)
        print(json.dumps({"rows": rows, "cached": cached}))
        return 0
    if args.baseline:
        versions, cached = side_by_side(args.repeat, args.baseline)
        rows = versions["after"]
        before = {r["label"]: r for r in versions["before"]}
        lines = []
        for r in rows:
            lines.append(line(r, "after"))
            if r["label"] in before:
                lines.append(line(before[r["label"]], "before"))
        how = f"medians of {args.repeat} rounds, each a fresh process per version, alternating"
    else:
        rows, cached = measure(args.repeat)
        lines = [line(r, "this") for r in rows]
        how = f"cold: one run; warm rows: medians of {args.repeat} alternating runs"
    best = min(rows[1:], key=lambda r: r["total"])
    warm = sorted(r["total"] for r in rows[1:])
    # performance.md: these machines are noisy (±15 %): near 1 s is neither met nor missed
    met = (
        "met"
        if best["total"] < 0.85
        else "at the line, within the noise"
        if best["total"] < 1.15
        else "**not met**"
    )
    text = "\n".join([HEAD, *lines])
    if args.baseline:
        old = before.get(best["label"])
        if old is not None:
            text += (
                f"\n\nBefore → after ({best['label']}): total {old['total']:.2f} → "
                f"{best['total']:.2f} s ({old['total'] / best['total']:.1f}× faster), server "
                f"{old['server']:.2f} → {best['server']:.2f} s, transfer "
                f"{old['transfer']:.2f} → {best['transfer']:.2f} s, client "
                f"{old['client']:.2f} → {best['client']:.2f} s (JSON {old['json']:.2f} → "
                f"{best['json']:.2f} s, listing table {old['table']:.2f} → "
                f"{best['table']:.2f} s, plan + graph {old['plan']:.2f} → {best['plan']:.2f} s)."
            )
    text += (
        f"\n\nAgainst the target: file downloads {cached} (met; without `sample_rate=` the "
        f"first open reads the first file's header: one request, 64 KiB, nothing stored); "
        f"listing requests {best['listing']} plus {best['other_requests']} metadata (met); "
        f"time {best['total']:.2f} s at best, warm opens {warm[0]:.2f}–{warm[-1]:.2f} s "
        f"({met}, target < 1 s): server "
        f"{best['server']:.2f} s, transfer {best['transfer']:.2f} s, client "
        f"{best['client']:.2f} s (JSON {best['json']:.2f} s, listing table "
        f"{best['table']:.2f} s, plan + graph {best['plan']:.2f} s, other "
        f"{best['other']:.2f} s)."
    )
    print(text)
    print(f"audio files in the client cache after the opens: {cached} (target 0)")
    if args.write_results:
        command = "python benchmarks/bench_lazy_open.py " + " ".join(argv or sys.argv[1:])
        body = (
            f"## Lazy open of a year of 64 kHz audio (`benchmarks/bench_lazy_open.py`)\n\n"
            f"`{command.strip()}` — `open_audio('{DEVICE}', '{START}', '{END}')` against a "
            f"sandbox in a child process; {how}; CPython {platform.python_version()}, "
            f"{os.cpu_count()} cores.\n\n{text}\n\n"
            f"Audio files downloaded by the opens: {cached}.\n"
        )
        write_section("bench_lazy_open", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
