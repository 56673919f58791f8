"""The chaos suite's invariant checker: after the faults stop and the stack converges, does
the external evidence agree with itself?

It reads only what outlives the processes: the event log (from the first notification),
the views' and queues' tables, the confirmed topic from the beginning, and the providers'
ledgers through their real SDKs. It trusts none of it to be tidy: processes were killed
mid-transaction, so a missing table or an unreadable source is a violation, never a crash.

- kafka (evidence_kafka): every confirmed order on the topic, one ``ce_id`` (the
  confirmation's), identical redeliveries, in event order, no phantoms;
- stock (evidence_stock): conservation against the loaded units, never negative in the
  log's history, each reservation settled once, the catalog view's numbers;
- money (evidence_money): per payment and charge, provider captured/refunded == the log's,
  extra captures refunded (or parked), confirmed orders captured exactly, no orphans;
- views (evidence_views): each view and the task table == a fresh rebuild from the log;
- webhooks (evidence_webhooks): no provider event applied twice, no inbox row twice;
- audit (evidence_audit): the hash chain recomputed from the stored events == ``audit_chain``
  (once the chain follower started), and the stock-movement index == one derived from the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from entrypoints.bootstrap import build_application, build_db
from infrastructure.followers import FOLLOWERS
from infrastructure.relay.messages import RELAYED_EVENT_TOPICS
from infrastructure.relay.metrics import DEFAULT_RELAY_NAME
from infrastructure.worker.task_feed import ProviderTaskFeed
from projections import ALL_PROJECTIONS
from projections.schema import (
    InboxStatus,
    TaskStatus,
    follower_dead_letters,
    payment_status_view,
    product_view,
    projection_tracking,
    provider_tasks,
    relay_position,
    webhook_inbox,
)
from tests.chaos.evidence_audit import check_audit_chain, check_stock_movements
from tests.chaos.evidence_clients import check_clients
from tests.chaos.evidence_kafka import check_confirmed_topic, read_topic
from tests.chaos.evidence_log import LogFacts, read_log
from tests.chaos.evidence_model import Evidence, Findings, Violation
from tests.chaos.evidence_money import check_money, razorpay_charges, stripe_charges
from tests.chaos.evidence_stock import check_stock
from tests.chaos.evidence_views import check_views, table_exists
from tests.chaos.evidence_webhooks import check_webhooks

__all__ = ["CheckReport", "Evidence", "Violation", "check", "unsettled"]

# Followers that must follow the log wherever the stack runs; the others (the audit's) only
# once they have started (a tracking row).
CORE_FOLLOWERS = frozenset({*(p.name for p in ALL_PROJECTIONS), ProviderTaskFeed.name})


@dataclass
class CheckReport:
    violations: list[Violation]
    examined: dict[str, int]  # orders, payments, records, skus, provider objects, webhooks ...

    @property
    def ok(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {violation.invariant for violation in self.violations}

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "violations": [asdict(violation) for violation in self.violations],
            "byInvariant": dict(Counter(v.invariant for v in self.violations)),
            "examined": dict(self.examined),
        }


def _guarded(findings: Findings, section: str, step: Callable[[], None]) -> None:
    """Run one family of checks; a source that cannot be read is itself the finding."""
    try:
        step()
    except Exception as exc:  # any failure to read evidence: report it, check the rest
        findings.add("evidence.unreadable", section, f"{type(exc).__name__}: {exc}"[:1000])


def check(evidence: Evidence) -> CheckReport:
    findings = Findings()
    db = build_db(evidence.database_url, pool_size=2)
    app: CheckoutApplication | None = None
    try:
        app = build_application(evidence.database_url, pool_size=2)
        facts = read_log(app, findings)
        _run_checks(evidence, app, db, facts, findings)
    except Exception as exc:  # the log itself is unreadable: nothing else can be held to it
        findings.add("evidence.unreadable", "log", f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        if app is not None:
            app.close()
        db.dispose()
    return CheckReport(findings.violations, findings.examined)


def _run_checks(
    evidence: Evidence, app: CheckoutApplication, db: Engine, facts: LogFacts, findings: Findings
) -> None:
    def kafka() -> None:
        records = read_topic(evidence.bootstrap_servers, evidence.confirmed_topic)
        check_confirmed_topic(facts, records, findings)

    def stock() -> None:
        with db.connect() as conn:
            if not table_exists(conn, product_view.name):
                findings.add("evidence.missing_table", product_view.name, "no catalog view")
                return
            check_stock(facts, evidence.initial_stock, conn, findings)

    def money() -> None:
        charges = stripe_charges(evidence, findings) + razorpay_charges(evidence, findings)
        check_money(facts, charges, findings)

    def webhooks() -> None:
        with db.connect() as conn:
            check_webhooks(facts, conn, findings)

    _guarded(findings, "kafka", kafka)
    _guarded(findings, "stock", stock)
    _guarded(findings, "money", money)
    _guarded(findings, "views", lambda: check_views(app, db, facts, findings))
    _guarded(findings, "webhooks", webhooks)
    _guarded(findings, "stock_movements", lambda: check_stock_movements(db, facts, findings))
    _guarded(findings, "audit", lambda: check_audit_chain(app, db, findings))
    _guarded(findings, "followers", lambda: _check_followers(db, findings))
    _guarded(findings, "clients", lambda: check_clients(facts, evidence.clients, findings))


def _check_followers(db: Engine, findings: Findings) -> None:
    """A follower stopped at a dead letter serves a view that no longer follows the log."""
    with db.connect() as conn:
        if not table_exists(conn, follower_dead_letters.name):
            return  # created with the first dead letter's migration; none recorded
        t = follower_dead_letters.c
        rows = conn.execute(
            sa.select(t.follower, t.position, t.error).where(t.resolution.is_(None))
        ).all()
    for row in rows:
        findings.add("views.stalled", row.follower, f"dead letter at {row.position}: {row.error}")


# -- convergence -------------------------------------------------------------------------


def unsettled(evidence: Evidence) -> list[str]:
    """What is still moving (empty when converged): followers behind the log head or
    stopped, provider tasks pending or leased, the relay behind the outbox, inbox rows
    waiting for a (re)try, payments waiting for their provider order (``processing``) or
    for a requested refund."""
    moving: list[str] = []
    db = build_db(evidence.database_url, pool_size=1)
    app: CheckoutApplication | None = None
    try:
        app = build_application(evidence.database_url, pool_size=1)
        head = app.head_position()
        with db.connect() as conn:
            for step in (_followers_behind, _tasks_waiting, _inbox_waiting, _payments_waiting):
                moving += _unsettled_part(conn, step, head)
        moving += _relay_behind(app, db)
    except Exception as exc:  # a database that does not answer has not converged
        moving.append(f"unreadable: {type(exc).__name__}: {exc}"[:500])
    finally:
        if app is not None:
            app.close()
        db.dispose()
    return moving


def _unsettled_part(
    conn: Connection, step: Callable[[Connection, int], list[str]], head: int
) -> list[str]:
    try:
        return step(conn, head)
    except Exception as exc:  # a table half made, a lock timeout: still moving
        conn.rollback()
        return [f"{step.__name__.strip('_')}: unreadable: {type(exc).__name__}: {exc}"[:500]]


def _followers_behind(conn: Connection, head: int) -> list[str]:
    if not table_exists(conn, projection_tracking.name):
        return ["projection_tracking: table missing"]
    t = projection_tracking.c
    at = {row.name: row.position for row in conn.execute(sa.select(t.name, t.position))}
    moving = []
    for name in FOLLOWERS:
        if name not in at and name not in CORE_FOLLOWERS:
            continue
        if at.get(name, 0) < head:
            moving.append(f"follower {name} at {at.get(name, 0)} of head {head}")
    if table_exists(conn, follower_dead_letters.name):
        d = follower_dead_letters.c
        query = sa.select(d.follower, d.position).where(d.resolution.is_(None))
        for row in conn.execute(query):
            moving.append(f"follower {row.follower} stopped at dead letter {row.position}")
    return moving


def _tasks_waiting(conn: Connection, head: int) -> list[str]:
    if not table_exists(conn, provider_tasks.name):
        return ["provider_tasks: table missing"]
    c = provider_tasks.c
    leased = sa.func.count().filter(c.lease_until > sa.func.now())
    pending, held = conn.execute(
        sa.select(sa.func.count(), leased).where(c.status == TaskStatus.PENDING.value)
    ).one()
    return [f"{pending} provider tasks pending ({held} leased)"] if pending else []


def _inbox_waiting(conn: Connection, head: int) -> list[str]:
    if not table_exists(conn, webhook_inbox.name):
        return []  # created by the first webhook the API accepted
    c = webhook_inbox.c
    waiting = sa.or_(
        c.status == InboxStatus.RECEIVED.value,
        sa.and_(c.status == InboxStatus.FAILED.value, c.next_attempt_at.is_not(None)),
    )
    count = conn.execute(sa.select(sa.func.count()).where(waiting)).scalar_one()
    return [f"{count} webhook inbox rows waiting for a try"] if count else []


def _payments_waiting(conn: Connection, head: int) -> list[str]:
    if not table_exists(conn, payment_status_view.name):
        return ["payment_status_view: table missing"]
    c = payment_status_view.c
    processing = conn.execute(
        sa.select(sa.func.count()).where(c.status == "processing")
    ).scalar_one()
    refunding = conn.execute(
        sa.select(sa.func.count()).where(c.refunds_pending != sa.text("'{}'::jsonb"))
    ).scalar_one()
    moving = []
    if processing:
        moving.append(f"{processing} payments waiting for their provider order")
    if refunding:
        moving.append(f"{refunding} payments waiting for a refund to settle")
    return moving


def _relay_behind(app: CheckoutApplication, db: Engine) -> list[str]:
    with db.connect() as conn:
        exists = table_exists(conn, relay_position.name)
        c = relay_position.c
        query = sa.select(c.position).where(c.name == DEFAULT_RELAY_NAME)
        at = int((conn.execute(query).scalar() if exists else None) or 0)
    waiting = app.recorder.select_notifications(
        start=at, limit=1, topics=RELAYED_EVENT_TOPICS, inclusive_of_start=False
    )
    return [f"relay at {at}, order events from {waiting[0].id} not published"] if waiting else []
