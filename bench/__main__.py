"""`python -m bench [--quick]` (`make bench`, `make bench QUICK=1`)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the real stack; writes bench/results/latest.json.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short run for local iteration (about 2 minutes)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="concurrent clients of the status reads, the profile and the baselines (8); "
        "the checkout load runs at 8 and then at 32 clients",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where to write latest.json and the dated copy (default: bench/results)",
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def exit_on_sigterm() -> None:
    """SIGTERM (``kill``, a CI timeout) ends the run as Ctrl-C would: by an exception, so
    the runner's ``finally`` stops the `checkout-engine run` it started. Python's default
    for SIGTERM ends the process at once and left that stack running for hours."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    exit_on_sigterm()
    from bench.runner import main as run

    return run(args.quick, args.concurrency, args.keep, args.results)


if __name__ == "__main__":
    sys.exit(main())
