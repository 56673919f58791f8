"""Dead letters: the event a follower could not apply, and what an operator decided.

A follower that meets an event its code or its tables refuse (a value a column cannot hold,
a constraint, a bug in a handler) must not retry it for ever in silence, nor skip it on its
own: either would hide a lost update. It records the event here, logs an error, and stops
at that position (``checkout_follower_stalled`` on /metrics, /readyz answers 503). An
operator then decides with ``checkout-engine followers skip NAME POSITION --reason ...``
(recorded with who and why; the position moves past the event) or ``followers retry NAME``
(after a fix). See adr/0013.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from domain import bounds
from projections.schema import follower_dead_letters

SKIPPED = "skipped"
RETRIED = "retried"
MAX_ERROR = 2000


@dataclass(frozen=True)
class DeadLetter:
    follower: str
    position: int
    topic: str
    originator_id: UUID | None
    originator_version: int | None
    error: str
    failed_at: datetime
    attempts: int
    resolution: str | None
    resolved_by: str | None
    resolution_reason: str | None


class NoDeadLetter(LookupError):
    def __init__(self, follower: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"follower {follower!r} has no unresolved dead letter{where}")


def _clean(text: str, limit: int = MAX_ERROR) -> str:
    return bounds.storable(text, limit)


class DeadLetters:
    def __init__(self, db: Engine) -> None:
        self.db = db

    def record(
        self,
        follower: str,
        position: int,
        topic: str,
        originator_id: UUID | None,
        originator_version: int | None,
        error: str,
    ) -> DeadLetter:
        """Record (or count again) the failure of the event at ``position``."""
        t = follower_dead_letters
        values = {
            "follower": follower,
            "position": position,
            "topic": _clean(topic, 500),
            "originator_id": originator_id,
            "originator_version": originator_version,
            "error": _clean(error),
            "failed_at": sa.func.now(),
        }
        statement = insert(t).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[t.c.follower, t.c.position],
            set_={
                "error": statement.excluded.error,
                "failed_at": sa.func.now(),
                "attempts": t.c.attempts + 1,
                "resolution": None,
                "resolved_by": None,
                "resolution_reason": None,
                "resolved_at": None,
            },
        )
        with self.db.begin() as conn:
            conn.execute(statement)
        found = self.get(follower, position)
        assert found is not None
        return found

    def get(self, follower: str, position: int) -> DeadLetter | None:
        t = follower_dead_letters
        query = sa.select(t).where(t.c.follower == follower, t.c.position == position)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _letter(row)

    def unresolved(self, follower: str | None = None) -> list[DeadLetter]:
        t = follower_dead_letters
        query = sa.select(t).where(t.c.resolution.is_(None)).order_by(t.c.follower, t.c.position)
        if follower is not None:
            query = query.where(t.c.follower == follower)
        with self.db.connect() as conn:
            return [_letter(row) for row in conn.execute(query).mappings()]

    def all(self, follower: str | None = None) -> list[DeadLetter]:
        t = follower_dead_letters
        query = sa.select(t).order_by(t.c.follower, t.c.position)
        if follower is not None:
            query = query.where(t.c.follower == follower)
        with self.db.connect() as conn:
            return [_letter(row) for row in conn.execute(query).mappings()]

    def resolve(
        self, conn: Connection, follower: str, position: int, resolution: str, by: str, reason: str
    ) -> None:
        """Mark the unresolved dead letter at ``position``, in the caller's transaction."""
        t = follower_dead_letters
        result = conn.execute(
            sa.update(t)
            .where(t.c.follower == follower, t.c.position == position, t.c.resolution.is_(None))
            .values(
                resolution=resolution,
                resolved_by=_clean(by, 200),
                resolution_reason=_clean(reason, 500),
                resolved_at=sa.func.now(),
            )
        )
        if result.rowcount != 1:
            raise NoDeadLetter(follower, position)

    def census(self) -> dict[str, int]:
        """Unresolved dead letters per follower (for /metrics and /readyz)."""
        t = follower_dead_letters
        query = (
            sa.select(t.c.follower, sa.func.count())
            .where(t.c.resolution.is_(None))
            .group_by(t.c.follower)
        )
        with self.db.connect() as conn:
            rows: list[tuple[str, int]] = [(str(f), int(n)) for f, n in conn.execute(query)]
        return dict(rows)


def _letter(row: sa.RowMapping) -> DeadLetter:
    return DeadLetter(
        follower=row["follower"],
        position=row["position"],
        topic=row["topic"],
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        error=row["error"],
        failed_at=row["failed_at"],
        attempts=row["attempts"],
        resolution=row["resolution"],
        resolved_by=row["resolved_by"],
        resolution_reason=row["resolution_reason"],
    )
