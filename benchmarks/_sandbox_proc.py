"""Run a sandbox in a child process (its own CPU and GIL) for the benchmarks.

``spawn(files_dir)`` starts ``python -c ...`` serving a :class:`intake_onc.sandbox.SandboxServer`
(``processing_scale=0``) and returns ``(url, process)``; ``stop(process)`` ends it (closing its
stdin). With ``files_dir`` the sandbox writes the archive files it generates there
(``INTAKE_ONC_SANDBOX_CACHE``) instead of the shared ``<tmp>/intake-onc-sandbox-*`` folder, so a
benchmark can delete them afterwards. ``write_section`` updates RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys

_CHILD = r"""
import sys
from intake_onc.sandbox import SandboxServer
server = SandboxServer(processing_scale=0.0).start()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""


def spawn(files_dir: str | None = None) -> tuple[str, subprocess.Popen]:
    """Start the sandbox process; return its URL and the process."""
    env = dict(os.environ)
    if files_dir:
        env["INTAKE_ONC_SANDBOX_CACHE"] = str(files_dir)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"the sandbox process did not start (said {url!r})")
    return url, proc


def stop(proc: subprocess.Popen) -> None:
    """Stop a process made by :func:`spawn` (and only that one)."""
    try:
        proc.stdin.close()
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=10)


def write_section(name: str, body: str) -> None:
    """Put ``body`` between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in RESULTS.md
    (replacing that section, keeping every other one)."""
    from pathlib import Path

    path = Path(__file__).with_name("RESULTS.md")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{body.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    i, j = old.find(begin), old.find(end)
    if i >= 0 and j > i:
        new = old[:i] + section + old[j + len(end) + 1 :]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new)
    print(f"wrote {path}")
