"""Wakes idle executors when the provider-task feed commits new tasks (LISTEN/NOTIFY).

Executors also poll, so a lost notification (or a task whose retry time comes) only
costs the poll interval; the doorbell makes the common case immediate.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from infrastructure.worker.task_feed import TASKS_CHANNEL

log = structlog.get_logger(__name__)


class Doorbell:
    """A generation counter: a waiter wakes when it moves past the value it saw.

    A ring wakes ONE idle waiter: new tasks are one claim's worth, and every idle executor
    claiming at each ring would send all but one claim for nothing. An executor that
    claims a full batch rings again, so a backlog wakes the others one by one.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many are waiting for a ring now (idle executors)."""
        with self._cond:
            return self._waiting

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def ring(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify()

    def wait(self, seen: int, timeout: float) -> None:
        with self._cond:
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: self._generation != seen, timeout)
            finally:
                self._waiting -= 1


def listen_for_tasks(
    db: Engine, doorbell: Doorbell, stop: threading.Event, retry: float = 1.0
) -> None:
    """Ring ``doorbell`` on every NOTIFY of new tasks until ``stop``."""
    while not stop.is_set():
        try:
            _listen(db, doorbell, stop)
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            log.warning("task doorbell lost its connection", error=str(exc))
            stop.wait(retry)


def _listen(db: Engine, doorbell: Doorbell, stop: threading.Event) -> None:
    conn = db.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(sa.text(f'LISTEN "{TASKS_CHANNEL}"'))
        listener: Any = conn.connection.driver_connection
        doorbell.ring()  # tasks may have arrived before we listened
        while not stop.is_set():
            if any(True for _ in listener.notifies(timeout=0.2, stop_after=1)):
                doorbell.ring()
    finally:
        # Closing the session, not pooling it, so no pooled connection keeps the LISTEN.
        conn.invalidate()
        conn.close()
