"""The audit's followers (adr/0015) as evidence: the hash chain and the stock-movement index.

- ``audit.chain``: the engine's own verification (``infrastructure.audit.verification``, what
  ``checkout-engine audit verify`` runs) recomputes the chain from the stored events and
  compares it with ``audit_chain``; each finding (an event altered, moved, inserted or
  removed) is a violation. It runs only once the chain follower has a tracking row: a stack
  whose projector never started the chain has nothing to verify, and the check must not
  create the row (``stored_chain`` would). Anchors are not compared: they live in the
  projector's data dir and the anchor topic, which the evidence does not name, so this
  proves the chain table agrees with the log, not that neither was rewritten.
- ``views.rebuild`` for ``order_stock_movements``: the index is a pure function of each
  stock event and its notification id, so the rebuild is derived from the log directly
  (not by the follower's code, which looks the ids up in the live events table), up to
  the position the follower had reached in the same snapshot as its rows.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.audit.chain import FOLLOWER_NAME as AUDIT_CHAIN
from infrastructure.audit.verification import verify_chain
from projections.schema import audit_chain, order_stock_movements, projection_tracking
from projections.stock_movements import MOVEMENTS, StockMovements
from tests.chaos.evidence_log import LogFacts
from tests.chaos.evidence_model import Findings
from tests.chaos.evidence_views import diff_rows, read_snapshot, table_exists


def check_audit_chain(app: CheckoutApplication, db: Engine, findings: Findings) -> None:
    with db.connect() as conn:
        if not table_exists(conn, projection_tracking.name):
            return  # the views' check reports the missing tracking table
        t = projection_tracking.c
        started = conn.execute(sa.select(t.position).where(t.name == AUDIT_CHAIN)).first()
        if started is None:
            return
        if not table_exists(conn, audit_chain.name):
            findings.add("evidence.missing_table", audit_chain.name, "the chain follower ran")
            return
    result = verify_chain(app, db)
    findings.count("audit chain events", result.chained)
    for finding in result.events_findings + result.anchor_findings:
        findings.add("audit.chain", finding.notification_id, f"{finding.kind.value}: {finding}")
    more = result.event_findings_total - len(result.events_findings)
    if more > 0:
        findings.add("audit.chain", audit_chain.name, f"{more} more events do not hold")


def check_stock_movements(db: Engine, facts: LogFacts, findings: Findings) -> None:
    name = order_stock_movements.name
    snapshot = read_snapshot(db, name, StockMovements.name)
    if snapshot is None:
        findings.add("evidence.missing_table", name, "the index's table or its tracking is gone")
        return
    position, rows = snapshot
    findings.count(f"{name} rows", len(rows))
    # Events the follower applied after the log was read are compared on the next check.
    upto = min(position, facts.head)
    live = [row for row in rows if row["notification_id"] <= upto]
    for row in rows:
        if row["notification_id"] > position:
            findings.add(
                "views.rebuild",
                f"{row['order_id']}/{row['notification_id']}",
                f"{name}: a row beyond the follower's position {position}",
            )
    rebuilt = [
        _movement(logged.position, logged.event)
        for logged in facts.of_type(*MOVEMENTS)
        if logged.position <= upto
    ]
    keys = [column.name for column in order_stock_movements.primary_key.columns]
    diff_rows(name, keys, live, rebuilt, frozenset(), findings)


def _movement(position: int, event: Any) -> dict[str, Any]:
    return {
        "order_id": UUID(str(event.order_id)),
        "notification_id": position,
        "stock_id": event.originator_id,
        "originator_version": event.originator_version,
    }
