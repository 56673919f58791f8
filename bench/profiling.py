"""Where a checkout spends its time: py-spy on the API process, and the stacks summarised.

py-spy samples every thread of the API process (`--idle` keeps threads that are waiting,
so waiting on PostgreSQL counts: this is wall-clock time, not CPU time) without stopping
it (`--nonblocking`). A checkout runs in two places: the event loop (HTTP parsing,
middleware, auth, validation, JSON) and a worker thread of the thread pool running the
`Checkout` use case. Samples of worker threads inside `Checkout.__call__` are split into
exclusive buckets by the first rule whose frame they contain; event-loop samples count
as busy unless they sit in the selector waiting for I/O.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHECKOUT_FRAME = "Checkout.__call__ (application/checkout.py"

# (bucket, a frame substring); first match wins, checked in this order.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("pool pre-ping: a round trip before each use of a pooled connection", "_check_connection"),
    ("idempotency look-up", "Checkout._earlier"),
    ("save: events-table lock, insert, NOTIFY, commit (fsync)", "Application.save"),
    ("load product aggregates (one query each)", "Checkout._products"),
    ("load stock aggregates (snapshot + events)", "Checkout._stocks"),
    ("retry back-off after a conflict", "tenacity/nap.py"),
)
OTHER = "other (pricing, domain logic, thread hand-off)"
# Leaf frames of a thread that waits: for PostgreSQL, for work, for I/O in the event loop.
WAITING_LEAVES = ("Connection.wait (psycopg", "Condition.wait (threading", ".select (selectors")
IN_DRIVER = "(psycopg/"


def py_spy() -> str | None:
    """py-spy from this interpreter's environment, or on PATH; None if not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def record(pid: int, seconds: float, output: Path, rate: int = 50) -> subprocess.Popen[bytes]:
    binary = py_spy()
    if binary is None:
        raise FileNotFoundError("py-spy is not installed")
    argv = [
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(output),
        "--idle",
        "--threads",
        "--nonblocking",
    ]
    log = output.with_suffix(".log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def parse_collapsed(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """py-spy's raw output: `frame;frame;... count` per line, root first."""
    stacks: list[tuple[list[str], int]] = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


def _thread_name(frames: list[str]) -> str:
    head = frames[0] if frames else ""
    return head.split(":", 1)[1].strip() if head.startswith("thread (") and ":" in head else head


def bucket_of(frames: list[str]) -> str:
    for name, needle in BUCKETS:
        if any(needle in frame for frame in frames):
            return name
    return OTHER


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def summarise(stacks: list[tuple[list[str], int]], top: int = 8) -> dict[str, Any]:
    """Buckets of checkout worker time, the CPU part of it, and the event loop's busy time."""
    checkout_total = 0
    in_driver = 0
    buckets: Counter[str] = Counter()
    loop_total = 0
    loop_busy: Counter[str] = Counter()
    loop_busy_total = 0
    for frames, count in stacks:
        if any(CHECKOUT_FRAME in frame for frame in frames):
            checkout_total += count
            buckets[bucket_of(frames)] += count
            if IN_DRIVER in frames[-1]:
                in_driver += count
        elif _thread_name(frames) == "MainThread":
            loop_total += count
            if not any(needle in frames[-1] for needle in WAITING_LEAVES):
                loop_busy_total += count
                handler = next(
                    (f for f in reversed(frames) if "(api/" in f or "(application/" in f),
                    frames[-1],
                )
                loop_busy[handler] += count
    return {
        "checkout_worker_samples": checkout_total,
        "checkout_buckets": [
            {"what": name, "share": _share(n, checkout_total)} for name, n in buckets.most_common()
        ],
        # In the PostgreSQL driver: sending a query, waiting for its answer, reading it.
        "checkout_in_postgres_driver_share": _share(in_driver, checkout_total),
        "event_loop_busy_share": _share(loop_busy_total, loop_total),
        "event_loop_busy_in": [
            {"function": name, "share_of_loop": _share(n, loop_total)}
            for name, n in loop_busy.most_common(top)
        ],
    }


def summarise_file(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return summarise(parse_collapsed(handle))
