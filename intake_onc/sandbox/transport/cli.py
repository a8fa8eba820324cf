"""``intake-onc sandbox``: run the local Oceans 3.0 API server in the foreground.

The first line on stdout is exactly ``sandbox: serving Oceans 3.0 API at http://HOST:PORT``
(flushed at once, so a parent process can read the URL); other messages go to stderr. SIGINT
(Ctrl-C) and SIGTERM stop it cleanly (exit status 0).

Examples
--------
.. code-block:: console

    $ intake-onc sandbox --port 8080 --latency-ms 50
    sandbox: serving Oceans 3.0 API at http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from collections.abc import Sequence
from typing import Any

from intake_onc.sandbox.transport.defaults import SANDBOX_TOKEN

__all__ = ["add_sandbox_command", "main", "run_sandbox"]

_DESCRIPTION = (
    "Serve the Oceans 3.0 API locally with deterministic synthetic data (the synthetic "
    "observatory of docs/architecture.md). Point a client at the printed URL; the default token "
    f"is the documented demo token {SANDBOX_TOKEN}."
)


def _number(kind: type, *, lo: float | None = None, hi: float | None = None, what: str = ""):
    """An argparse ``type=``: ``kind`` (int/float) in ``[lo, hi]``, finite; anything else is
    argparse's one-line usage error (exit status 2), not a traceback."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


_PORT = _number(int, lo=0, hi=65535, what="a port number from 0 to 65535")
_SEED = _number(int, lo=0, what="a non-negative integer")
_NON_NEGATIVE = _number(float, lo=0, what="a non-negative number")
_PROBABILITY = _number(float, lo=0, hi=1, what="a probability from 0 to 1")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=_PORT,
        default=0,
        help="port (default: 0 = any free port; the URL is printed)",
    )
    parser.add_argument(
        "--token",
        default=SANDBOX_TOKEN,
        help="the API token to accept (default: the documented demo token)",
    )
    parser.add_argument("--seed", type=_SEED, default=0, help="seed of the synthetic data")
    parser.add_argument(
        "--latency-ms",
        type=_NON_NEGATIVE,
        default=0.0,
        help="delay added to every API answer, in milliseconds",
    )
    parser.add_argument(
        "--fault-rate",
        type=_PROBABILITY,
        default=0.0,
        help="share of requests (0-1) answered with a fault: 500, 503, 429, "
        "connection reset, truncated body or a slow answer",
    )
    parser.add_argument(
        "--fault-kinds",
        default=None,
        help="comma list of the fault kinds to use (default: all of "
        "500,503,429,reset,truncate,slow)",
    )
    parser.add_argument(
        "--processing-scale",
        type=_NON_NEGATIVE,
        default=1.0,
        help="data product processing time factor, times ONC's figures (HSD 25 s per 5-minute file, TSSD 20 s + 1 s per MB); "
        "0 = instant (default: 1)",
    )
    parser.add_argument(
        "--product-expiry-s",
        type=_NON_NEGATIVE,
        default=7 * 86400.0,
        help="seconds until a completed run's files are gone (download: 410)",
    )
    parser.add_argument(
        "--now", default=None, help="freeze 'now' at this date (default: the real time)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request to stderr (tokens redacted)"
    )


def add_sandbox_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sandbox`` to an ``argparse`` sub-parsers object (``intake_onc.cli`` calls this)."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the local Oceans 3.0 API sandbox server",
        description=_DESCRIPTION,
    )
    _add_arguments(parser)
    parser.set_defaults(handler=run_sandbox)
    return parser


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit status."""
    from intake_onc.sandbox.transport.server import SandboxServer

    kinds = None
    if args.fault_kinds:
        kinds = [k.strip() for k in args.fault_kinds.split(",") if k.strip()]
    try:
        server = SandboxServer(
            args.host,
            args.port,
            token=args.token,
            seed=args.seed,
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            fault_kinds=kinds,
            processing_scale=args.processing_scale,
            product_expiry_s=args.product_expiry_s,
            now=args.now,
            verbose=args.verbose,
        )
    except (ValueError, OverflowError) as exc:
        print(f"sandbox: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sandbox: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    print(f"sandbox: serving Oceans 3.0 API at {server.url}", flush=True)
    # The two lines to paste into another shell (catalogs/sandbox.yaml, ONCClient() and the
    # official onc client read them); a --token of the user's own is not echoed.
    token = SANDBOX_TOKEN if args.token == SANDBOX_TOKEN else "<the --token value>"
    print(f"export ONC_BASE_URL={server.url}", flush=True)
    print(f"export ONC_TOKEN={token}", flush=True)
    token_note = "the default demo token" if args.token == SANDBOX_TOKEN else "the --token value"
    print(
        f"sandbox: requests need token= ({token_note}); stop with Ctrl-C or SIGTERM",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum: int, frame: Any) -> None:
        server.shutdown_from_signal()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve_forever()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("sandbox: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m intake_onc.sandbox.transport.cli [options]``."""
    parser = argparse.ArgumentParser(prog="intake-onc sandbox", description=_DESCRIPTION)
    _add_arguments(parser)
    return run_sandbox(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
