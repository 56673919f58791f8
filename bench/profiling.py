"""Where a checkout spends its time: py-spy on the API process, and the stacks summarised.

A checkout runs on two threads of the API process. The event loop (`MainThread`) parses
the HTTP request (h11), authenticates the JWT, validates the body, hands the checkout to
the writer and awaits its future, then renders and writes the response; between those it
sits in the selector (the wait for the writer's answer shows there, the coroutine has no
frame while it awaits). The group-commit writer (`checkout-writer`,
application/group_commit.py) takes a batch of queued checkouts, takes the writers' turn
(an advisory lock), refreshes its cached aggregates with one query, looks up
Idempotency-Keys, decides each checkout and saves the batch in one transaction (encoding,
then lock, insert, NOTIFY, commit, then any snapshot due), and settles the futures.

Two py-spy recordings run side by side on the process, same rate and duration: `--idle`
(every sample of every thread: wall-clock time) and one without it (only the samples
whose thread was in state R, running or runnable: wanting a CPU, whether it had one or
waited on a run queue). Each thread's wall samples are split into exclusive buckets that
add up to its whole time, idle included; the runnable recording is split by the same
rules, as a share of the same ticks, so a bucket's share minus its runnable share is time
blocked (on PostgreSQL, a lock, the network). Which part of "runnable" really ran comes
from the kernel: /proc/PID/task/TID/schedstat gives each thread's time on a CPU and
waiting on a run queue over the window.

Samples come from py-spy's raw (collapsed) format: `thread (tid): name;root;...;leaf N`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILE_RATE = 50  # py-spy samples per second
LOOP_THREAD = "MainThread"
WRITER_THREAD = "checkout-writer"

MEASURED_AS = (
    "two py-spy recordings side by side, the same rate and duration: with --idle (wall "
    "clock) and without it (samples of threads in state R: running or runnable). `share`: "
    "a bucket's part of the thread's wall time (a thread's shares add up to 1, idle "
    "included); `runnable_share`: the second recording's samples in the bucket over the "
    "same ticks (sampled apart, so noisy; share minus it is time blocked); "
    "`ms_per_checkout`: share x window / checkouts answered in it. Per thread, "
    "`cpu_ms_per_checkout` and `run_queue_ms_per_checkout` are its time on a CPU and "
    "waiting for one, from /proc/PID/task/TID/schedstat over the window."
)


@dataclass(frozen=True)
class Rule:
    """A bucket: a sample is in it if a frame contains one of `needles` and no frame
    contains one of `unless`."""

    what: str
    needles: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def matches_frame(self, frame: str) -> bool:
        return any(needle in frame for needle in self.needles)

    def matches(self, frames: Sequence[str]) -> bool:
        if any(needle in frame for frame in frames for needle in self.unless):
            return False
        return any(self.matches_frame(frame) for frame in frames)


@dataclass(frozen=True)
class ThreadRules:
    """How one thread's samples are bucketed, checked in this order: `idle` on the leaf
    frame alone; `stack` rules, the first that matches anywhere in the stack; `layers`,
    the innermost frame that any of them matches (scanning from the leaf); `rooted`
    samples that match nothing are `rest`, others (py-spy read a partial stack) are
    `partial`."""

    idle: Rule
    stack: tuple[Rule, ...] = ()
    layers: tuple[Rule, ...] = ()
    root: str = ""
    rest: str = "the rest"
    partial: str = "unattributed: partial stacks (py-spy read the thread mid-change)"

    def bucket_of(self, frames: Sequence[str]) -> str:
        if frames and self.idle.matches_frame(frames[-1]):
            return self.idle.what
        for rule in self.stack:
            if rule.matches(frames):
                return rule.what
        for frame in reversed(frames):
            for rule in self.layers:
                if rule.matches_frame(frame):
                    return rule.what
        if self.root and not any(self.root in frame for frame in frames):
            return self.partial
        return self.rest

    def names(self) -> list[str]:
        return [self.idle.what, *(r.what for r in (*self.stack, *self.layers))]


LOOP = ThreadRules(
    # Under uvloop the loop's wait (and its own C code) has no Python frame below the
    # runner's: a sample whose innermost frame is the runner is in the loop's wait.
    idle=Rule(
        "idle: in the selector (waiting for the network, and for the writer's answers)",
        (".select (selectors.py", "Runner.run (asyncio/runners.py"),
    ),
    stack=(
        Rule(
            "other endpoints (webhooks, reads)",
            ("(api/routes/",),
            unless=("(api/routes/checkout.py",),
        ),
    ),
    layers=(
        Rule(
            "auth: JWT, customer check, rate limits", ("(jwt/", "(api/auth.py", "(api/rate_limits")
        ),
        Rule(
            "request body and validation (pydantic)",
            ("(pydantic", "(api/validation.py", "(api/schemas.py", "(starlette/requests.py"),
        ),
        Rule(
            "response rendering (model, JSON, headers)",
            ("(api/representations.py", "(api/consistency.py", "(starlette/responses.py"),
        ),
        Rule(
            "hand-off to the writer (submit, the future's callbacks)",
            ("(application/", "(asyncio/futures.py", "(concurrent/futures/"),
        ),
        Rule("the checkout route's own code", ("(api/routes/checkout.py", "(api/services.py")),
        Rule(
            "middleware, routing, metrics, logging",
            (
                "(api/middleware.py",
                "(prometheus_client/",
                "(structlog/",
                "(infrastructure/observability",
                "(logging/",
                "(starlette/",
                "(uvicorn/middleware/",
            ),
        ),
        Rule(
            "HTTP protocol: httptools or h11, socket reads and writes",
            ("(h11/", "(uvicorn/protocols/", "(asyncio/selector_events.py", "(httptools"),
        ),
        Rule("event loop scheduling (asyncio, anyio)", ("(asyncio/", "(anyio/")),
    ),
    root="",  # innermost-layer rules attribute partial stacks as well as whole ones
    rest="other",
)

SAVE_ROUND_TRIPS = "save: lock, insert, NOTIFY, commit (PostgreSQL round trips)"
WRITER = ThreadRules(
    idle=Rule("idle: waiting for checkouts (queue)", ("CheckoutWriter._run (",)),
    stack=(
        Rule("turn: the writers' advisory lock, taken and released", ("EventTail.turn",)),
        Rule(
            "save: snapshots (reload the aggregate, insert the snapshot)",
            ("_take_snapshots (", "take_snapshot ("),
        ),
        Rule("save: encoding events (JSON)", ("Mapper.to_stored_event", "Transcoder.encode")),
        Rule(SAVE_ROUND_TRIPS, ("insert_events (eventsourcing/", "(infrastructure/event_recorder")),
        Rule("save: collecting events, recordings", ("Application.save (",)),
        Rule("refresh: loading aggregates not cached", ("_Aggregates._load",)),
        Rule("refresh: the query for other writers' events", ("EventTail.since",)),
        Rule("refresh: applying events, cache upkeep", ("_Aggregates.refresh",)),
        Rule("copying the stocks a batch changes (for a redo)", ("_Aggregates.copies",)),
        Rule("idempotency look-up", ("_placed_earlier",)),
        Rule("decide: pricing", ("price_cart",)),
        Rule("decide: Order.place", ("Order.place",)),
        Rule("decide: Payment.initiate", ("Payment.initiate",)),
        Rule("decide: reserving stock", ("reserve_all",)),
        Rule(
            "decide: the rest (fingerprint, ids, cache look-ups)",
            ("decide (application/checkout.py", "CheckoutWriter._present", "_replay ("),
        ),
        Rule("settling futures (waking the event loop)", ("_settle (", "Future.set_result")),
    ),
    root="CheckoutWriter._run (",
    rest="the rest of the batch loop (batching, logging, conflict back-off)",
)

THREADS: dict[str, tuple[str, ThreadRules]] = {
    "event_loop": (LOOP_THREAD, LOOP),
    "checkout_writer": (WRITER_THREAD, WRITER),
}

Stacks = list[tuple[list[str], int]]


def py_spy() -> str | None:
    """py-spy from this interpreter's environment, or on PATH; None if not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def record(
    pid: int, seconds: float, output: Path, rate: int = PROFILE_RATE, *, idle: bool = True
) -> subprocess.Popen[bytes]:
    """py-spy record in raw format: with `idle`, every thread's every sample (wall clock);
    without it, only samples of threads running or runnable (on CPU)."""
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
        *(["--idle"] if idle else []),
        "--threads",
        "--nonblocking",
    ]
    log = output.with_suffix(".log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def parse_collapsed(lines: Iterable[str]) -> Stacks:
    """py-spy's raw output: `frame;frame;... count` per line, root first."""
    stacks: Stacks = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


def thread_of(frames: Sequence[str]) -> tuple[int | None, str]:
    """(OS thread id, name) from the `thread (tid): name` frame py-spy puts first."""
    head = frames[0] if frames else ""
    if not head.startswith("thread ("):
        return None, ""
    ident, _, name = head[len("thread (") :].partition(")")
    tid = int(ident) if ident.isdigit() else None
    return tid, name.removeprefix(":").strip()


# -- each thread's CPU and run-queue time, from /proc --------------------------------------


@dataclass(frozen=True)
class ThreadTimes:
    """A thread's time on a CPU and waiting on a run queue (runnable, no core free), in
    seconds, from /proc/PID/task/TID/schedstat; without schedstat, the CPU time from stat
    (user + system, in clock ticks) and no queue time."""

    cpu_s: float
    queued_s: float | None = None


@dataclass(frozen=True)
class CpuTimes:
    at: float
    process_s: float  # user + system of the whole process, exited threads included
    threads: dict[int, ThreadTimes] = field(default_factory=dict)


def _stat_cpu_s(path: Path) -> float | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    # utime and stime are fields 14 and 15 of proc_pid_stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_times(task: Path) -> ThreadTimes | None:
    try:
        on_cpu_ns, queued_ns, _ = (int(n) for n in (task / "schedstat").read_text().split())
        return ThreadTimes(on_cpu_ns / 1e9, queued_ns / 1e9)
    except (OSError, ValueError):
        cpu = _stat_cpu_s(task / "stat")
        return None if cpu is None else ThreadTimes(cpu)


def cpu_times(pid: int) -> CpuTimes | None:
    """The process's CPU time and each live thread's; None if unreadable (not Linux)."""
    process = _stat_cpu_s(Path(f"/proc/{pid}/stat"))
    if process is None:
        return None
    threads: dict[int, ThreadTimes] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        tasks = []
    for task in tasks:
        times = _thread_times(task) if task.name.isdigit() else None
        if times is not None:
            threads[int(task.name)] = times
    return CpuTimes(time.time(), process, threads)


def _thread_times_over(
    tids: Iterable[int], before: CpuTimes | None, after: CpuTimes | None
) -> ThreadTimes | None:
    """The threads' times over the window (threads born in it count from zero)."""
    if before is None or after is None:
        return None
    cpu, queued, seen = 0.0, 0.0, False
    has_queue = True
    for tid in tids:
        end = after.threads.get(tid)
        if end is None:
            continue
        start = before.threads.get(tid, ThreadTimes(0.0, 0.0))
        seen = True
        cpu += end.cpu_s - start.cpu_s
        if end.queued_s is None or start.queued_s is None:
            has_queue = False
        else:
            queued += end.queued_s - start.queued_s
    if not seen:
        return None
    return ThreadTimes(cpu, queued if has_queue else None)


# -- the summary ----------------------------------------------------------------------------


def _share(count: float, total: float) -> float:
    return round(count / total, 4) if total else 0.0


def _per_checkout_ms(share: float, window_s: float | None, checkouts: int | None) -> float | None:
    if not window_s or not checkouts:
        return None
    return round(share * window_s * 1000 / checkouts, 3)


def _by_thread(stacks: Stacks) -> dict[str, Stacks]:
    found: dict[str, Stacks] = {}
    for frames, count in stacks:
        _, name = thread_of(frames)
        found.setdefault(name, []).append((frames, count))
    return found


def _ticks(stacks: Stacks) -> int:
    """Sampling ticks of the wall-clock recording: every tick has one sample of every live
    thread, so the samples of the longest-lived thread."""
    per_tid: Counter[int] = Counter()
    for frames, count in stacks:
        tid, _ = thread_of(frames)
        if tid is not None:
            per_tid[tid] += count
    return max(per_tid.values(), default=0)


def _tids(stacks: Stacks) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for frames, _ in stacks:
        tid, name = thread_of(frames)
        if tid is not None:
            found.setdefault(name, set()).add(tid)
    return found


def summarise_thread(
    rules: ThreadRules,
    wall: Stacks,
    runnable: Stacks | None = None,
    *,
    ticks: int | None = None,
    window_s: float | None = None,
    checkouts: int | None = None,
) -> dict[str, Any]:
    """One thread's buckets: shares of its wall samples (adding up to 1), the runnable
    recording's samples over the same ticks, and the wall time per checkout."""
    wall_by: Counter[str] = Counter()
    in_driver: Counter[str] = Counter()
    for frames, count in wall:
        bucket = rules.bucket_of(frames)
        wall_by[bucket] += count
        if frames and "(psycopg" in frames[-1]:
            in_driver[bucket] += count
    runnable_by: Counter[str] = Counter()
    for frames, count in runnable or []:
        runnable_by[rules.bucket_of(frames)] += count
    samples = sum(wall_by.values())
    denominator = ticks or samples

    def runnable_share(count: int) -> float | None:
        return _share(count, denominator) if runnable is not None else None

    buckets = []
    for what in sorted(
        set(wall_by) | set(runnable_by), key=lambda w: (-wall_by[w], -runnable_by[w])
    ):
        share = _share(wall_by[what], samples)
        entry: dict[str, Any] = {
            "what": what,
            "share": share,
            "runnable_share": runnable_share(runnable_by[what]),
            "ms_per_checkout": _per_checkout_ms(share, window_s, checkouts),
        }
        if in_driver[what]:
            # Leaf in psycopg: sending a query, waiting for its answer, reading it.
            entry["in_postgres_driver_share"] = _share(in_driver[what], samples)
        buckets.append(entry)
    busy = _share(samples - wall_by[rules.idle.what], samples)
    return {
        "samples": samples,
        "busy_share": busy,
        "runnable_share": runnable_share(sum(runnable_by.values())),
        "busy_ms_per_checkout": _per_checkout_ms(busy, window_s, checkouts),
        "buckets": buckets,
    }


def _times_entry(
    times: ThreadTimes | None, window_s: float | None, checkouts: int | None
) -> dict[str, Any]:
    def per_checkout(seconds: float | None) -> float | None:
        return round(seconds * 1000 / checkouts, 3) if seconds is not None and checkouts else None

    def of_window(seconds: float | None) -> float | None:
        return _share(seconds, window_s) if seconds is not None and window_s else None

    cpu = times.cpu_s if times else None
    queued = times.queued_s if times else None
    return {
        "cpu_ms_per_checkout": per_checkout(cpu),
        "run_queue_ms_per_checkout": per_checkout(queued),
        "cpu_share_of_window": of_window(cpu),
        "run_queue_share_of_window": of_window(queued),
    }


def summarise(
    wall: Stacks,
    runnable: Stacks | None = None,
    *,
    window_s: float | None = None,
    checkouts: int | None = None,
    cpu_before: CpuTimes | None = None,
    cpu_after: CpuTimes | None = None,
    top: int = 6,
) -> dict[str, Any]:
    """The event loop's and the writer's buckets, then the other threads of the process."""
    wall_by = _by_thread(wall)
    runnable_by = _by_thread(runnable) if runnable is not None else {}
    tids = _tids(wall)
    ticks = _ticks(wall)
    threads: dict[str, Any] = {}
    for key, (name, rules) in THREADS.items():
        summary = summarise_thread(
            rules,
            wall_by.get(name, []),
            runnable_by.get(name, []) if runnable is not None else None,
            ticks=ticks or None,
            window_s=window_s,
            checkouts=checkouts,
        )
        times = _thread_times_over(tids.get(name, ()), cpu_before, cpu_after)
        threads[key] = {"thread": name, **summary, **_times_entry(times, window_s, checkouts)}
    others: list[tuple[int, int, dict[str, Any]]] = []
    for name, entries in wall_by.items():
        if name in (n for n, _ in THREADS.values()):
            continue
        samples = sum(count for _, count in entries)
        running = sum(count for _, count in runnable_by.get(name, []))
        times = _thread_times_over(tids.get(name, ()), cpu_before, cpu_after)
        entry = {
            "thread": name or "(unnamed)",
            "threads": len(tids.get(name, ())),
            "samples": samples,
            "runnable_share_of_one_thread": _share(running, ticks),
            "cpu_ms": round(times.cpu_s * 1000, 1) if times else None,
        }
        others.append((running, samples, entry))
    others.sort(key=lambda o: (-o[0], -o[1]))
    process_cpu_s = (
        cpu_after.process_s - cpu_before.process_s
        if cpu_before is not None and cpu_after is not None
        else None
    )
    return {
        "measured_as": MEASURED_AS,
        "ticks": ticks,
        "checkouts": checkouts,
        "window_s": window_s,
        "process_cpu_ms_per_checkout": (
            round(process_cpu_s * 1000 / checkouts, 3)
            if process_cpu_s is not None and checkouts
            else None
        ),
        "threads": threads,
        "other_threads": [entry for _, _, entry in others[:top]],
    }


def read_stacks(path: Path) -> Stacks | None:
    if not path.exists():
        return None
    with path.open() as handle:
        return parse_collapsed(handle)


def summarise_files(wall: Path, runnable: Path | None = None, **kwargs: Any) -> dict[str, Any]:
    stacks = read_stacks(wall) or []
    return summarise(stacks, read_stacks(runnable) if runnable is not None else None, **kwargs)


def headline(summary: Mapping[str, Any], top: int = 4) -> list[str]:
    """A line per thread: how busy, its CPU and run-queue time per checkout, its biggest
    buckets but idle."""
    lines = []
    for key, label in (("checkout_writer", "writer"), ("event_loop", "event loop")):
        thread = summary.get("threads", {}).get(key)
        if not thread or not thread.get("samples"):
            lines.append(f"{label}: no samples")
            continue
        busiest = [b for b in thread["buckets"] if not b["what"].startswith("idle")][:top]
        cpu, queued = thread.get("cpu_ms_per_checkout"), thread.get("run_queue_ms_per_checkout")
        lines.append(
            f"{label} busy {thread['busy_share']:.0%}"
            + (f", {cpu:.2f} ms on CPU" if cpu is not None else "")
            + (f" + {queued:.2f} ms on the run queue" if queued is not None else "")
            + (" per checkout" if cpu is not None else "")
            + "; "
            + ", ".join(f"{b['what']} {b['share']:.0%}" for b in busiest)
        )
    return lines
