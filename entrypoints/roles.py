"""Background roles (projector, relay, worker): loops on threads until SIGINT/SIGTERM.

A loop that raises ends the whole process with exit code 1, so the supervisor (or the
orchestrator in production) sees the failure and restarts the role: it is never left
running with one of its loops silently dead.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

Loop = Callable[[threading.Event], None]


@dataclass(frozen=True)
class NamedLoop:
    name: str
    run: Loop


def run_loops(loops: Sequence[NamedLoop], stop: threading.Event | None = None) -> int:
    """Run every loop on its own thread; return the process exit code."""
    stop = stop or threading.Event()
    failed: list[str] = []

    def guarded(loop: NamedLoop) -> None:
        try:
            loop.run(stop)
        except Exception:
            log.exception("loop crashed", loop=loop.name)
            failed.append(loop.name)
            stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    threads = [
        threading.Thread(target=guarded, args=(loop,), name=loop.name, daemon=True)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    log.info("role running", loops=[loop.name for loop in loops])
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(timeout=15)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        log.error("loops did not stop in time", loops=stuck)
    return 1 if failed or stuck else 0
