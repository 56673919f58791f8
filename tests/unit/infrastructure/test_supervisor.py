from __future__ import annotations

import sys
import threading

import pytest

from entrypoints import supervisor as sup
from entrypoints.supervisor import Role, RoleFailed, Supervisor
from tests.waiting import wait_until


def python_role(name: str, code: str) -> Role:
    return Role(name, [sys.executable, "-c", code])


def test_a_role_that_keeps_dying_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sup, "MAX_RESTARTS", 2)
    crashing = python_role("crasher", "import sys; sys.exit(3)")
    supervisor = Supervisor([crashing], env={})
    supervisor.start()
    with pytest.raises(RoleFailed, match="crasher died 3 times"):
        supervisor.watch(poll=0.01)
    supervisor.stop()
    assert len(crashing.restarts) == 3


def test_a_dead_role_is_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sup, "MAX_RESTARTS", 50)
    once = python_role("flaky", "import sys; sys.exit(1)")
    supervisor = Supervisor([once], env={})
    supervisor.start()
    first_pid = once.process.pid if once.process else None
    watcher = threading.Thread(target=supervisor.watch, kwargs={"poll": 0.01})
    watcher.start()
    try:
        wait_until(lambda: len(once.restarts) >= 1, what="a restart")
    finally:
        supervisor.stopping.set()
        watcher.join(10)
        supervisor.stop()
    assert once.process is not None
    assert once.process.pid != first_pid


def test_stop_terminates_every_child() -> None:
    sleepers = [python_role(f"s{i}", "import time; time.sleep(60)") for i in range(3)]
    supervisor = Supervisor(sleepers, env={})
    supervisor.start()
    supervisor.stop(timeout=5)
    assert all(r.process is not None and r.process.poll() is not None for r in sleepers)
