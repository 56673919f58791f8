"""Who used the CPU during a measured window: each role of the stack, PostgreSQL, the broker.

A process's share counts it and all its descendants (PostgreSQL's backends are children
of the postmaster), from `psutil` user + system times sampled at both ends of the window.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

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
