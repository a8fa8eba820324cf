"""The package's layering rules (docs/architecture.md), checked on the source text.

* the sandbox is the other side of the wire and the independent oracle: it imports nothing of the
  client, the xarray operations, the file readers or the dataset assembly;
* the xarray operations and the file readers do no HTTP: they never import the client;
* the top-level package and the Intake entry-point module stay light to import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "intake_onc"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module a source file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # The package a module's relative imports start from (for ``__init__`` too: its folder).
    package_parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def sources(subpackage: str) -> list[Path]:
    root = PACKAGE / subpackage
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def violations(subpackage: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sources(subpackage):
        if not path.exists():
            continue
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_sandbox_is_independent_of_the_client_side():
    forbidden = (
        "intake_onc.client",
        "intake_onc.ops",
        "intake_onc.formats",
        "intake_onc.datasets",
        "intake_onc.acoustics.spectrogram",
        "intake_onc.acoustics.windows",
        "onc",
    )
    assert violations("sandbox", forbidden) == []


@pytest.mark.parametrize("subpackage", ["ops", "formats", "spectrograms", "audio"])
def test_xarray_operations_and_file_readers_do_no_http(subpackage):
    forbidden = ("intake_onc.client", "intake_onc.sandbox", "requests")
    assert violations(subpackage, forbidden) == []


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, intake_onc; heavy = [m for m in ('xarray', 'dask', 'pandas', 'scipy', "
        "'requests', 'soundfile') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
