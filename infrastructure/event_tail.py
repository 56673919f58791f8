"""The checkout writer's two reads on PostgreSQL, one statement each (adr/0019).

``since``: for every cached aggregate, the events appended after the version the writer
holds, by a lateral join over the primary key (originator_id, originator_version): an
index range scan per aggregate, and an empty one for an aggregate nobody changed.
``first_events``: version 1 of the orders and payments an Idempotency-Key names.
``turn``: a session advisory lock that the writers of every API process take from their
refresh to their commit (adr/0020), on a connection of its own.
``announce`` and ``others_writing``: every writer holds a shared advisory lock on that
connection for as long as it lives, so that one that conflicted can tell whether another
writer is about (``pg_locks``). Only then does it take turns: in the bench, the few
conflicts with a webhook's stock commit had put a lone writer in turn mode for most of the
run, two more statements a batch for nothing (adr/0020 addendum).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.event_recorder import stored_events

WRITERS_TURN_KEY = 0x636B2D7772697465  # "ck-write"
WRITERS_PRESENT_KEY = 0x636B2D7072657365  # "ck-prese": held shared by every live writer
TURN_WAIT_S = 2.0

log = structlog.get_logger(__name__)


class PostgresEventTail:
    def __init__(self, recorder: PostgresApplicationRecorder, conninfo: str) -> None:
        self.recorder = recorder
        self.conninfo = conninfo  # for the turn's own session
        self._turns: psycopg.Connection[Any] | None = None
        table = SQL("{schema}.{table}").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        self._since = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%b::uuid[], %b::bigint[]) AS held(id, version) "
            "CROSS JOIN LATERAL ("
            "  SELECT originator_id, originator_version, topic, state FROM {table}"
            "  WHERE originator_id = held.id AND originator_version > held.version"
            "  ORDER BY originator_version"
            ") AS e"
        ).format(table=table)
        self._firsts = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {table} "
            "WHERE originator_id = ANY(%b::uuid[]) AND originator_version = 1"
        ).format(table=table)

    def since(self, versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        if not versions:
            return {}
        ids, held = list(versions), list(versions.values())
        found: dict[UUID, list[StoredEvent]] = {}
        for event in self._select(self._since, [ids, held]):
            found.setdefault(UUID(str(event.originator_id)), []).append(event)
        return found

    def first_events(self, ids: Iterable[UUID]) -> dict[UUID, StoredEvent]:
        wanted = list(ids)
        if not wanted:
            return {}
        return {
            UUID(str(event.originator_id)): event for event in self._select(self._firsts, [wanted])
        }

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The writers' turn; without it after TURN_WAIT (a writer that holds it is stuck or
        stopped): the turn only spares conflicts, optimistic concurrency keeps it correct."""
        conn = self._turn_connection()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (WRITERS_TURN_KEY,))
        except psycopg.errors.LockNotAvailable:
            log.warning("checkout writer going on without its turn", waited_s=TURN_WAIT_S)
            yield
            return
        except psycopg.Error:
            self._drop_turn_connection()
            raise
        try:
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (WRITERS_TURN_KEY,))
            except psycopg.Error:
                self._drop_turn_connection()  # closing the session releases the lock

    def announce(self) -> None:
        self._turn_connection()

    def others_writing(self) -> bool:
        conn = self._turn_connection()
        try:
            found = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid = %s::oid AND objid = %s::oid AND objsubid = 1"
                " AND pid <> pg_backend_pid()",
                (WRITERS_PRESENT_KEY >> 32, WRITERS_PRESENT_KEY & 0xFFFFFFFF),
            ).fetchone()
        except psycopg.Error:
            self._drop_turn_connection()
            raise
        return bool(found and found[0])

    def close(self) -> None:
        self._drop_turn_connection()

    def _turn_connection(self) -> psycopg.Connection[Any]:
        """The writer's own session, present (``WRITERS_PRESENT_KEY`` held shared) from
        the moment it opens: a new one after a failure announces the writer again."""
        if self._turns is None or self._turns.closed:
            conn = psycopg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=10,
                options=f"-c lock_timeout={int(TURN_WAIT_S * 1000)}",
                application_name="checkout-api:writer-turn",
            )
            try:
                conn.execute("SELECT pg_advisory_lock_shared(%s)", (WRITERS_PRESENT_KEY,))
            except BaseException:
                conn.close()
                raise
            self._turns = conn
        return self._turns

    def _drop_turn_connection(self) -> None:
        if self._turns is not None:
            self._turns.close()
            self._turns = None

    def _select(self, statement: Composed, params: list[object]) -> list[StoredEvent]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, params, prepare=True)
            return stored_events(cursor.fetchall())
