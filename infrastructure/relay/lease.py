"""The active relay's lease: one PostgreSQL connection holding a session advisory lock.

The same connection LISTENs for commits to the events table and reads and writes the
relay position (``relay_position``, described in projections.schema with every table),
so a position can only be saved while the lock is held: if the
connection drops, PostgreSQL frees the lock (a standby takes over) and every later
use of the lease raises `LeaseLost` instead of relaying on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from types import TracebackType

import psycopg
from psycopg import sql

from infrastructure.database import DatabaseAddress

_STOP_CHECK_SECONDS = 0.25


class LeaseLost(RuntimeError):
    """The lock connection failed: this process is no longer the active relay."""


def advisory_key(name: str) -> int:
    """A signed 64-bit advisory lock key for the relay called `name`."""
    digest = hashlib.sha256(f"checkout-engine:relay:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    def __init__(self, conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
        self._conn = conn
        self.name = name

    @classmethod
    def try_acquire(cls, address: DatabaseAddress, name: str, channel: str) -> Lease | None:
        """The lease if no other relay of this name holds it, else None."""
        conn = psycopg.connect(
            address.conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name=f"checkout-relay:{name}",
            # A peer that vanished without closing its socket must not keep the lock.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (advisory_key(name),)).fetchone()
            if row is None or row[0] is not True:
                conn.close()
                return None
            # LISTEN before the first read: no commit after that read goes unnoticed.
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            conn.execute(
                "INSERT INTO relay_position (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (name,),
            )
        except BaseException:
            conn.close()
            raise
        return cls(conn, name)

    def position(self) -> int:
        try:
            row = self._conn.execute(
                "SELECT position FROM relay_position WHERE name = %s", (self.name,)
            ).fetchone()
        except psycopg.Error as exc:
            raise LeaseLost(str(exc)) from exc
        if row is None or not isinstance(row[0], int):
            raise LeaseLost(f"relay position row {self.name!r} is gone")
        return row[0]

    def save(self, position: int) -> None:
        """Record that every notification up to `position` was examined and published."""
        try:
            cursor = self._conn.execute(
                "UPDATE relay_position SET position = %s, updated_at = now() WHERE name = %s",
                (position, self.name),
            )
        except psycopg.Error as exc:
            raise LeaseLost(str(exc)) from exc
        if cursor.rowcount != 1:
            raise LeaseLost(f"relay position row {self.name!r} is gone")

    def check(self) -> None:
        """Raise LeaseLost unless the lock connection still answers."""
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise LeaseLost(str(exc)) from exc

    def wait_for_commit(self, timeout: float, stop: threading.Event) -> bool:
        """Block until a commit is notified (True), `timeout` passes or `stop` is set."""
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._notified(min(remaining, _STOP_CHECK_SECONDS)):
                self._drain()  # one pass covers a burst of commits
                return True
        return False

    def _notified(self, timeout: float) -> bool:
        try:
            notifies = self._conn.notifies(timeout=timeout)
            try:
                return next(notifies, None) is not None
            finally:
                notifies.close()
        except psycopg.Error as exc:
            raise LeaseLost(str(exc)) from exc

    def _drain(self) -> None:
        try:
            for _ in self._conn.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            raise LeaseLost(str(exc)) from exc

    def release(self) -> None:
        """Close the connection, which frees the lock (also when it is already broken)."""
        if not self._conn.closed:
            with contextlib.suppress(psycopg.Error):  # closing frees it anyway
                self._conn.execute("SELECT pg_advisory_unlock_all()")
            self._conn.close()

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
