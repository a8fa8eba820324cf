"""Peak memory (RSS) of the sandbox for a 30-day 1 Hz TSSD order and 8 parallel 100-year
archive listings, with the sandbox in its own process (peak = ``VmHWM`` of /proc/PID/status).

Usage::

    PYTHONPATH=. python benchmarks/bench_sandbox_memory.py [--tree DIR] [--label after]

``--tree`` runs the sandbox of another source tree (e.g. ``git archive <commit>`` unpacked) for
"before" numbers. Prints one line per scenario: ``label scenario peak_MB end_MB seconds``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

TOKEN = "00000000-0000-4000-8000-000000000000"


def rss(pid: int) -> tuple[float, float]:
    """(peak, current) resident MB of a process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def start(tree: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": tree}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intake_onc.sandbox.transport.cli",
            "--port",
            "0",
            "--processing-scale",
            "0",
            "--now",
            "2025-01-01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tree,
    )
    line = proc.stdout.readline()
    return proc, line.rsplit(" ", 1)[-1].strip()


def tssd_30_days(url: str) -> int:
    params = {
        "token": TOKEN,
        "deviceCode": "SBECTD19p6813",
        "dataProductCode": "TSSD",
        "extension": "csv",
        "dateFrom": "2023-06-01T00:00:00.000Z",
        "dateTo": "2023-07-01T00:00:00.000Z",
        "dpo_qualityControl": "1",
        "dpo_resample": "none",
    }
    s = requests.Session()
    rid = s.get(f"{url}/api/dataProductDelivery/request", params=params, timeout=600).json()
    run = s.get(
        f"{url}/api/dataProductDelivery/run",
        params={"token": TOKEN, "dpRequestId": rid["dpRequestId"]},
        timeout=600,
    ).json()
    run_id = run[0]["dpRunId"]
    total = 0
    for index in range(1, 100):
        for _ in range(100_000):  # bounded poll
            r = s.get(
                f"{url}/api/dataProductDelivery/download",
                params={"token": TOKEN, "dpRunId": run_id, "index": index},
                stream=True,
                timeout=600,
            )
            if r.status_code != 202:
                break
            r.close()
            time.sleep(0.2)
        if r.status_code != 200:
            r.close()
            break
        for chunk in r.iter_content(1 << 20):
            total += len(chunk)
    return total


def listings_100_years(url: str) -> int:
    def one(i: int) -> int:
        r = requests.get(
            f"{url}/api/archivefile/device",
            params={
                "token": TOKEN,
                "deviceCode": "ICLISTENHF6324",
                "dateFrom": "1925-01-01T00:00:00.000Z",
                "dateTo": "2025-01-01T00:00:00.000Z",
            },
            timeout=600,
        )
        assert r.status_code == 200, r.text[:300]
        return len(r.content)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(one, range(8)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    for name, scenario in (
        ("tssd_30d_1hz_csv", tssd_30_days),
        ("listings_8x100y", listings_100_years),
    ):
        proc, url = start(args.tree)
        try:
            base = rss(proc.pid)[1]
            t0 = time.perf_counter()
            nbytes = scenario(url)
            seconds = time.perf_counter() - t0
            peak, end = rss(proc.pid)
            print(
                f"{args.label} {name} baseline={base:.0f}MB peak={peak:.0f}MB "
                f"end={end:.0f}MB bytes={nbytes} seconds={seconds:.1f}",
                flush=True,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
