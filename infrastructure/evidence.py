"""The evidence table: raw webhook bodies and provider calls, kept under their SHA-256.

Events name evidence by digest only (adr/0016); this keeps the text they name for
``EVIDENCE_RETENTION_DAYS`` (seven years by default), apart from the webhook inbox, which
is a working set pruned after days. The digest is the key, so keeping the same text twice
(a redelivered webhook, a repeated call with the same answer) inserts one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.ports import Evidence, EvidenceKind
from infrastructure.database import autocommit
from projections.rows import RowsUpsert
from projections.schema import evidence

_c = evidence.c
# The same text twice is one row: a conflict on the digest keeps the first.
_INSERT = RowsUpsert(
    evidence,
    ("digest", "kind", "provider", "object_id", "body"),
    conflict=("digest",),
    update=False,
)


@dataclass(frozen=True)
class KeptEvidence:
    digest: str
    kind: EvidenceKind
    provider: str
    object_id: str | None
    body: str
    recorded_at: datetime


class EvidenceStore:
    """The application's EvidenceStore port, on PostgreSQL."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def keep(self, item: Evidence) -> None:
        self.keep_all([item])

    def keep_all(self, items: Sequence[Evidence]) -> None:
        """``keep`` for each of ``items`` in one statement (the batched worker's calls)."""
        rows = {
            item.digest: {
                "digest": item.digest,
                "kind": item.kind.value,
                "provider": item.provider,
                "object_id": item.object_id,
                "body": item.body,
            }
            for item in items
        }
        if not rows:
            return
        with autocommit(self.db) as conn:
            _INSERT.execute(conn, list(rows.values()))

    def get(self, digest: str) -> KeptEvidence | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(evidence).where(_c.digest == digest)).mappings().first()
        if row is None:
            return None
        return KeptEvidence(
            row["digest"],
            EvidenceKind(row["kind"]),
            row["provider"],
            row["object_id"],
            row["body"],
            row["recorded_at"],
        )

    def prune(self, older_than: timedelta, batch: int) -> int:
        """Delete up to ``batch`` rows recorded more than ``older_than`` ago."""
        doomed = (
            sa.select(_c.digest)
            .where(_c.recorded_at < sa.func.now() - older_than)
            .order_by(_c.recorded_at)
            .limit(batch)
        )
        with self.db.begin() as conn:
            result = conn.execute(sa.delete(evidence).where(_c.digest.in_(doomed)))
        return int(result.rowcount)
