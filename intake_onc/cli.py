"""The ``intake-onc`` command line.

Subcommands are contributed by the modules that own them, so this file only wires them up:

* ``intake-onc sandbox`` — run the local Oceans 3.0 API server (:mod:`intake_onc.sandbox.cli`);
* ``intake-onc demo`` — the main job: a tour against the embedded sandbox (:mod:`intake_onc.demo`);
* ``intake-onc cache info|clear`` — the download cache (:mod:`intake_onc.client.cli`);
* ``intake-onc download|deployments|search`` — downloading for analysis
  (:mod:`intake_onc.downloads.cli`).

Examples
--------
.. code-block:: console

    $ intake-onc sandbox --port 8080
    sandbox: serving Oceans 3.0 API at http://127.0.0.1:8080
    $ intake-onc demo --output demo-output
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from intake_onc import __version__

#: (module, function) pairs; each function adds its subcommand(s) to the sub-parsers.
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("intake_onc.sandbox.transport.cli", "add_sandbox_command"),
    ("intake_onc.demo", "add_demo_command"),
    ("intake_onc.client.cli", "add_cache_commands"),
    ("intake_onc.downloads.cli", "add_download_commands"),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="intake-onc",
        description="Ocean Networks Canada data as xarray, with a local Oceans 3.0 sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"intake-onc {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, function_name in _COMMANDS:
        module = importlib.import_module(module_name)
        getattr(module, function_name)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the user; the traceback only with --debug
        if args.debug:
            raise
        return _report(exc)


#: Errors that mean "the input was wrong": exit status 2, like argparse's own usage errors.
_USER_ERRORS = (ValueError, TypeError, LookupError, OSError)


def _report(exc: Exception) -> int:
    """Print ``intake-onc: error: ...`` on one line and return the exit status."""
    from intake_onc.client.errors import ONCError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (*_USER_ERRORS, ONCError)):
        print(f"intake-onc: error: {message}", file=sys.stderr)
        return 2
    print(
        f"intake-onc: error: {type(exc).__name__}: {message} (run with --debug for the traceback)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
