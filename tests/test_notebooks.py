"""The notebooks run, as a reader runs them: executed cell by cell in a Jupyter kernel (nbclient),
against the embedded sandbox, and their outputs are looked at: no errors, no warnings or
tracebacks on stderr, and a figure wherever a cell draws one. They are kept with outputs stripped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DRAWS = re.compile(r"\.plot\(|\.plot_qc\(|plot_spectrogram\(|plt\.show\(")


def test_there_are_six_notebooks_committed_without_outputs():
    assert [n.stem[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook-cache")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_a_notebook_runs_and_shows_what_it_says(path, tmp_path, shared_cache, monkeypatch):
    for key in [k for k in os.environ if k.startswith(("ONC_", "INTAKE_ONC_", "MPLBACKEND"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(shared_cache))
    monkeypatch.setenv("INTAKE_ONC_NOTEBOOK_OUTPUT", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {i}"
        for output in cell.outputs:
            assert output.output_type != "error", (
                f"{where}: {output.get('ename')}: {output.get('evalue')}"
            )
            if output.output_type == "stream" and output.name == "stderr":
                text = output.text
                assert "Traceback" not in text and "Warning" not in text, f"{where}: {text[:500]}"
        if DRAWS.search(cell.source):
            shown = any("image/png" in o.get("data", {}) for o in cell.outputs)
            assert shown, f"{where}: no figure shown"
