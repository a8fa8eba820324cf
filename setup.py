"""Build steps pyproject.toml cannot say: the optional compiled kernel, and the catalogs folder.

``intake_onc.acoustics._speedups`` (one C file, no dependencies) speeds up custom spectrograms; when it
cannot be compiled (no C compiler), the install goes on and the package uses numpy instead.
"""

import sys

from setuptools import Extension, find_packages, setup

# -O3: GCC vectorises the kernel's loops at -O3 (at -O2 its "very cheap" cost model does not)
flags = [] if sys.platform == "win32" else ["-O3"]

setup(
    # The top-level catalogs/ folder ships inside the wheel as the data package
    # intake_onc._catalogs (intake_onc.catalog("onc") finds it there, installed or editable).
    packages=[*find_packages(include=["intake_onc", "intake_onc.*"]), "intake_onc._catalogs"],
    package_dir={"intake_onc._catalogs": "catalogs"},
    package_data={
        "intake_onc._catalogs": ["*.yaml"],
        "intake_onc": ["py.typed"],
        # ONC's real catalogue, served by the sandbox (tools/build_sandbox_catalogue.py)
        "intake_onc.sandbox.observatory": ["catalogue.json.xz"],
    },
    ext_modules=[
        Extension(
            "intake_onc.acoustics._speedups",
            ["intake_onc/acoustics/_speedups.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ],
)
