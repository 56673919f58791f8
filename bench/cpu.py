"""Who used the CPU during a measured window: each role of the stack, PostgreSQL, the broker.

A process's share counts it and all its descendants (PostgreSQL's backends are children
of the postmaster), from `psutil` user + system times sampled at both ends of the window.
`PostgresBackends` splits the server's CPU by the role each backend serves, and
`ms_per_checkout` turns both into CPU milliseconds per checkout.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import psutil

from bench.stats import cpu_share


def _family_times(pid: int, alone: bool = False) -> dict[int, float]:
    try:
        root = psutil.Process(pid)
        family = [root] if alone else [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    times: dict[int, float] = {}
    for process in family:
        try:
            user, system = process.cpu_times()[:2]
        except psutil.Error:
            continue
        times[process.pid] = user + system
    return times


class CpuWindow:
    """`begin()`, then `end()`: CPU shares of named process trees over that window."""

    def __init__(self, pids: Mapping[str, int], alone: frozenset[str] = frozenset()) -> None:
        """`alone`: names whose process counts without its children."""
        self.pids = dict(pids)
        self.alone = alone
        self._start: dict[str, dict[int, float]] = {}
        self._began = 0.0
        self._machine: dict[str, float] = {}

    def begin(self) -> None:
        self._began = time.monotonic()
        self._machine = machine_seconds()
        self._start = {
            name: _family_times(pid, name in self.alone) for name, pid in self.pids.items()
        }

    def end(self) -> dict[str, dict[str, float]]:
        wall = time.monotonic() - self._began
        cores = os.cpu_count() or 1
        shares: dict[str, dict[str, float]] = {}
        for name, pid in self.pids.items():
            before = self._start.get(name, {})
            after = _family_times(pid, name in self.alone)
            # A process born during the window spent all its CPU time in it.
            used = sum(t - before.get(p, 0.0) for p, t in after.items())
            shares[name] = cpu_share(max(used, 0.0), wall, cores)
        now = machine_seconds()
        spent = {k: max(now[k] - self._machine.get(k, 0.0), 0.0) for k in now}
        shares[MACHINE] = cpu_share(spent["processes"] + spent["interrupts"], wall, cores)
        shares[INTERRUPTS] = cpu_share(spent["interrupts"], wall, cores)
        shares[PROCESSES] = cpu_share(spent["processes"], wall, cores)
        shares[STEAL] = cpu_share(spent["steal"], wall, cores)
        return shares


MACHINE = "whole_machine"  # processes + interrupts
PROCESSES = "all_processes"  # user + nice + system time of every process
INTERRUPTS = "kernel_interrupts"  # irq + softirq: loopback networking, disk completions
STEAL = "stolen_by_hypervisor"
OUTSIDE = "outside_the_benchmark"  # process time no benchmark process accounts for
_MACHINE_WIDE = frozenset({MACHINE, PROCESSES, INTERRUPTS, STEAL, OUTSIDE})


def machine_seconds() -> dict[str, float]:
    """CPU seconds of all cores since boot, in the groups the report uses."""
    times = psutil.cpu_times()

    def field(name: str) -> float:  # irq, softirq and steal exist on Linux only
        return float(getattr(times, name, 0.0))

    return {
        "processes": field("user") + field("nice") + field("system"),
        "interrupts": field("irq") + field("softirq"),
        "steal": field("steal"),
    }


def with_outside(shares: dict[str, dict[str, float]], also_ours: float) -> None:
    """Add the process time of the rest of the machine: all process time minus every
    named process tree minus `also_ours` (benchmark processes measured elsewhere)."""
    processes = shares.get(PROCESSES)
    if processes is None or processes["cpu_seconds"] <= 0:
        return
    ours = sum(v["cpu_seconds"] for k, v in shares.items() if k not in _MACHINE_WIDE)
    outside = max(processes["cpu_seconds"] - ours - also_ours, 0.0)
    ratio = outside / processes["cpu_seconds"]
    shares[OUTSIDE] = {
        "of_machine": round(processes["of_machine"] * ratio, 4),
        "of_one_core": round(processes["of_one_core"] * ratio, 4),
        "cpu_seconds": round(outside, 3),
    }


def postmaster_pid(conninfo: str) -> int | None:
    """The local PostgreSQL server's pid, or None when it runs elsewhere."""
    import psycopg

    # Look the backend up while its connection is open: it exits when the session ends.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        if row is None:
            return None
        try:
            parent = psutil.Process(int(row[0])).parent()
        except psutil.Error:
            return None
    return parent.pid if parent is not None else None


class PostgresBackends:
    """CPU of the PostgreSQL server's processes over a window, by the role each serves.

    Each process's user + system time (psutil) is read at `begin()`, every `interval`
    seconds in a thread of its own, and at `end()`; pg_stat_activity, read alongside,
    names the role of each client backend by its application_name (bench.counters
    .category_of). A backend born during the window counts whole. One that exited during
    it is credited with what it had used at the last sample that saw it (at most
    `interval` of its CPU is lost); `exited` says how many did. The server's own
    processes (postmaster, WAL writer, checkpointer, autovacuum, ...) are `background`.
    """

    def __init__(self, conninfo: str, postmaster: int, interval: float = 0.5) -> None:
        self.conninfo = conninfo
        self.postmaster = postmaster
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self._reaped = 0.0

    def _sample(self) -> dict[int, tuple[str, float]]:
        from bench.counters import BACKGROUND, category_of

        rows = self._conn.execute(
            "SELECT pid, application_name, backend_type FROM pg_stat_activity"
        ).fetchall()
        kinds = {
            int(pid): category_of(name) if kind == "client backend" else BACKGROUND
            for pid, name, kind in rows
        }
        try:
            root = psutil.Process(self.postmaster)
            family = [root, *root.children()]
        except psutil.Error:
            return {}
        found: dict[int, tuple[str, float]] = {}
        for process in family:
            try:
                user, system = process.cpu_times()[:2]
            except psutil.Error:
                continue
            found[process.pid] = (kinds.get(process.pid, BACKGROUND), user + system)
        return found

    def _take(self) -> set[int]:
        sample = self._sample()
        with self._lock:
            merge_samples(self._last, sample)
        return set(sample)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            # A missed sample only widens the gap for a backend that exits.
            with contextlib.suppress(Exception):
                self._take()

    def begin(self) -> None:
        import psycopg

        from bench.counters import BENCH_APP

        self._conn = psycopg.connect(
            self.conninfo, autocommit=True, application_name=f"{BENCH_APP}-cpu"
        )
        self._reaped = self._reaped_cpu()
        first = self._sample()
        self._first = {pid: cpu for pid, (_, cpu) in first.items()}
        self._last = dict(first)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pg-cpu", daemon=True)
        self._thread.start()

    def end(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        alive = self._take()
        self._conn.close()
        by_category: dict[str, float] = {}
        for pid, (category, cpu) in self._last.items():
            used = max(cpu - self._first.get(pid, 0.0), 0.0)
            by_category[category] = by_category.get(category, 0.0) + used
        exited = [pid for pid in self._last if pid not in alive]
        return {
            "cpu_seconds": {k: round(v, 3) for k, v in sorted(by_category.items())},
            "processes_seen": len(self._last),
            "born": len([pid for pid in self._last if pid not in self._first]),
            "exited": len(exited),
            # The whole lives' CPU of the server's processes that exited in the window (the
            # postmaster's children times): an upper bound of what their last samples missed.
            "exited_lifetime_cpu_seconds": round(max(self._reaped_cpu() - self._reaped, 0.0), 3),
        }

    def _reaped_cpu(self) -> float:
        try:
            times = psutil.Process(self.postmaster).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.children_user + times.children_system)


def merge_samples(
    last: dict[int, tuple[str, float]], sample: Mapping[int, tuple[str, float]]
) -> None:
    """Fold a sample into the latest known (category, CPU seconds) of each process. A
    backend keeps the role it was seen serving: between its last query and its exit, or
    before its start-up is done, pg_stat_activity may not name it."""
    from bench.counters import BACKGROUND

    for pid, (category, cpu) in sample.items():
        known = last.get(pid)
        if known is not None and category == BACKGROUND:
            category = known[0]
        last[pid] = (category, cpu)


def ms_per_checkout(
    shares: Mapping[str, Mapping[str, float]],
    postgres: Mapping[str, float],
    checkouts: int,
) -> dict[str, Any] | None:
    """CPU milliseconds per checkout: each engine role's process, the PostgreSQL backends
    serving it, and the rest apart (sandbox, broker, the server's background processes,
    the bench's own connections). `engine_total` is the four roles and their backends."""
    from bench.counters import BACKGROUND, BENCH, ENGINE_ROLES, OTHER

    if checkouts <= 0:
        return None

    def ms(seconds: float) -> float:
        return round(seconds * 1000.0 / checkouts, 3)

    def process(name: str) -> float:
        return float((shares.get(name) or {}).get("cpu_seconds", 0.0))

    roles = {role: process(role) for role in ENGINE_ROLES}
    backends = {role: float(postgres.get(role, 0.0)) for role in ENGINE_ROLES}
    apart = {name: float(postgres.get(name, 0.0)) for name in (BACKGROUND, BENCH, OTHER)}
    if postgres.get("sandbox"):
        apart["sandbox"] = float(postgres["sandbox"])
    engine = sum(roles.values()) + sum(backends.values())
    return {
        **{role: ms(seconds) for role, seconds in roles.items()},
        "postgres": {
            **{role: ms(seconds) for role, seconds in backends.items()},
            **{name: ms(seconds) for name, seconds in apart.items()},
        },
        "sandbox": ms(process("sandbox")),
        "broker": ms(process("broker")),
        "engine_total": ms(engine),
        "engine_total_with_postgres_background": ms(engine + apart[BACKGROUND]),
        "checkouts": checkouts,
    }
