"""Build step for the optional compiled kernel; everything else is in pyproject.toml.

``intake_onc._speedups`` (one C file, no dependencies) speeds up custom spectrograms; when it
cannot be compiled (no C compiler), the install goes on and the package uses numpy instead.
"""

import sys

from setuptools import Extension, setup

# -O3: GCC vectorises the kernel's loops at -O3 (at -O2 its "very cheap" cost model does not)
flags = [] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=[
        Extension(
            "intake_onc._speedups",
            ["intake_onc/_speedups.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
