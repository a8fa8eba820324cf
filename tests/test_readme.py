"""The README's quick start runs as written (against the sandbox, as a reader without a token)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_quick_start_runs(sandbox_url, sandbox_token, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path))
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    names: dict = {}
    exec(compile(code, "README quick start", "exec"), names)  # noqa: S102 - the README's own code
    assert names["hourly"].sizes["time"] == 7 * 24
    assert names["events"].sizes["event"] == 1
    plt.close("all")


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    assert blocks[:2] == [
        'python -m pip install -e ".[plot]" && intake-onc demo',
        'python -m pip install -e ".[test]" && python -m pytest -q',
    ]
