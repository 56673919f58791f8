"""The events recorder: eventsourcing's PostgreSQL recorder with one crash point inside it.

Everything else is eventsourcing's own (its table lock keeps notification ids visible in
commit order, adr/0003). The point sits after the lock is taken and the rows are inserted,
before the commit: a process killed there must leave nothing behind (tests/chaos).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

from application.crash_points import crash_point


class CheckoutRecorder(PostgresApplicationRecorder):
    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        crash_point("events.in_transaction")
