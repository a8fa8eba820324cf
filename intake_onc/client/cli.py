"""``intake-onc cache info|clear``: look at or empty the download cache.

The lead wires this into ``intake_onc/cli.py``::

    from intake_onc.client.cli import add_cache_commands
    add_cache_commands(subparsers)          # adds "cache" with "info" and "clear"
    ...
    args = parser.parse_args(argv)
    return args.handler(args)                  # handlers return an exit code

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="intake-onc")
>>> _ = add_cache_commands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["cache", "info", "--cache-dir", "/nonexistent/x"])
>>> args.cache_command, args.handler.__name__
('info', 'run_cache_command')
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_cache_commands", "run_cache_command"]


def add_cache_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``cache`` command (``info``, ``clear``) to an argparse subparsers object."""
    cache = subparsers.add_parser(
        "cache",
        help="show or clear the download cache",
        description="Show or clear intake-onc's download cache (archive files and products).",
    )
    sub = cache.add_subparsers(dest="cache_command", metavar="{info,clear}")
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--cache-dir",
        default=None,
        help="cache folder (default: $INTAKE_ONC_CACHE, else the user cache folder)",
    )
    info = sub.add_parser("info", parents=[common], help="where the cache is and what it holds")
    info.set_defaults(handler=run_cache_command)
    clear = sub.add_parser("clear", parents=[common], help="delete the cached files")
    clear.add_argument(
        "--server",
        default=None,
        help="only this server's files (a folder name shown by 'cache info'); an unknown "
        "name is an error",
    )
    clear.add_argument(
        "--partial",
        action="store_true",
        help="only remove the partial downloads (*.part) left by processes that are gone",
    )
    clear.set_defaults(handler=run_cache_command)
    cache.set_defaults(handler=run_cache_command)
    return cache


def run_cache_command(args: argparse.Namespace) -> int:
    """Run ``cache info`` or ``cache clear``; return the process exit code."""
    from intake_onc.client.cache import Cache

    cache = Cache(getattr(args, "cache_dir", None))
    command = getattr(args, "cache_command", None) or "info"
    if command == "info":
        print(cache.info())
        return 0
    if command == "clear":
        try:
            removed = cache.clear(
                getattr(args, "server", None), partial_only=bool(getattr(args, "partial", False))
            )
        except ValueError as exc:
            print(f"intake-onc cache clear: {exc}", file=sys.stderr)
            return 2
        what = "partial downloads" if getattr(args, "partial", False) else "files"
        print(f"removed {removed} {what} from {cache.root}")
        return 0
    print(f"intake-onc cache: unknown command {command!r} (use info or clear)", file=sys.stderr)
    return 2
