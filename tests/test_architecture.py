"""The package's layering (docs/architecture.md), enforced by import-linter contracts.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and CI runs ``lint-imports``:

* data flows one way: entry points (cli, demo) > readers > datasets > the domains (scalar,
  acoustics), the client, the sandbox and the catalogs, side by side > ``_core``;
* scalar/, acoustics/ and _core/ do no HTTP and never reach the client or the sandbox;
* the sandbox (the other side of the wire, and the independent oracle of ONC's rules) imports
  nothing of the package but ``_core``;
* there is no import cycle between modules (``TYPE_CHECKING`` imports aside).

These tests run the same checker, show that it catches the violations a deny-list missed, and
check what only running code shows: what ``import intake_onc`` loads, and the ``.onc`` accessors
in either import order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "intake_onc"


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the project's contracts, on the package found in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=package_parent,
        env=env,
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


#: (file to change, line to add, contract expected to break) — the kinds of violation a
#: deny-list of import names missed: an indirect import through an accessor, a standard-library
#: HTTP module, a lazy import inside a function, a lower layer reaching up.
INJECTED = {
    "sandbox reaches the client through the accessors": (
        "sandbox/__init__.py",
        "import intake_onc._accessors",
        "The sandbox",
    ),
    "scalar opens URLs itself": (
        "scalar/gaps.py",
        "import urllib.request",
        "do no HTTP",
    ),
    "acoustics imports requests lazily": (
        "acoustics/clips.py",
        "def _fetch():\n    import requests\n\n    return requests",
        "do no HTTP",
    ),
    "_core reaches up to the client": (
        "_core/tables.py",
        "from intake_onc.client import ONCClient",
        "_core is the bottom",
    ),
    "the client reaches up to the datasets": (
        "client/scalar.py",
        "from intake_onc.datasets import scalar as _scalar",
        "Data flows one way",
    ),
}


@pytest.mark.parametrize("case", sorted(INJECTED))
def test_the_contracts_catch_an_injected_violation(case, tmp_path):
    relative, line, contract = INJECTED[case]
    shutil.copytree(
        PACKAGE, tmp_path / "intake_onc", ignore=shutil.ignore_patterns("__pycache__", "*.so")
    )
    target = tmp_path / "intake_onc" / relative
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, f"{case}: not caught\n{result.stdout}"
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_no_module_imports_itself_back():
    """No import cycle: for every import a -> b, nothing b imports leads back to a."""
    graph = grimp.build_graph("intake_onc", exclude_type_checking_imports=True)
    cycles = sorted(
        {
            tuple(sorted((importer, imported)))
            for importer in graph.modules
            for imported in graph.find_modules_directly_imported_by(importer)
            if graph.find_shortest_chain(importer=imported, imported=importer)
        }
    )
    assert cycles == []


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_importing_the_package_loads_no_heavy_library():
    heavy = run_python(
        "import sys, intake_onc; print(','.join(m for m in ('xarray', 'dask', 'pandas', 'scipy', "
        "'requests', 'soundfile', 'numpy') if m in sys.modules))"
    )
    assert heavy == ""


@pytest.mark.parametrize(
    "imports",
    ["import intake_onc; import xarray as xr", "import xarray as xr; import intake_onc"],
    ids=["package first", "xarray first"],
)
def test_the_onc_accessors_exist_whatever_the_import_order(imports):
    code = (
        f"{imports}\n"
        "ds = xr.Dataset({'t': ('time', [1.0])})\n"
        "print(type(ds.onc).__name__, type(ds.t.onc).__name__)"
    )
    assert run_python(code) == "OncAccessor AudioAccessor"


def test_import_intake_loads_the_plugin_but_not_xarray():
    out = run_python(
        "import sys, intake; print('intake_onc.readers' in sys.modules, 'xarray' in sys.modules)"
    )
    assert out == "True False"
