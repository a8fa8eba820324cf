"""The sandbox is the other side of the wire: importing any of its modules loads nothing of the
package outside ``intake_onc.sandbox`` and ``intake_onc._core``, nor ``onc`` or ``requests``.

``intake_onc/__init__.py`` itself runs first (it is the parent package) and loads
``intake_onc._accessors``, a few lines of standard library that wait for xarray; if xarray were
loaded, the accessor modules it registers would show up here and fail the test."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import intake_onc.sandbox

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(intake_onc.sandbox.__path__, "intake_onc.sandbox.")
)

CODE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
def allowed(m):
    if m in ("intake_onc", "intake_onc._accessors"):
        return True
    if m.startswith(("intake_onc.sandbox", "intake_onc._core")):
        return True
    if m.startswith("intake_onc."):
        return False
    return m.split(".")[0] not in ("onc", "requests")
print("\\n".join(sorted(m for m in sys.modules if not allowed(m))))
"""


def test_the_sandbox_has_layer_packages():
    assert {"intake_onc.sandbox.transport", "intake_onc.sandbox.observatory"} <= set(MODULES)
    assert len(MODULES) > 30


def test_sandbox_modules_import_nothing_outside_the_sandbox_and_core():
    result = subprocess.run(
        [sys.executable, "-c", CODE, *MODULES], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"outside modules loaded:\n{result.stdout}"
