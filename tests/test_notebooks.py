"""The notebooks run: their code cells, executed in order in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(notebook, tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(code_of(notebook), encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg", "INTAKE_ONC_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=notebook.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
