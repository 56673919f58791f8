"""The worker prunes settled webhook rows and finished tasks past their retention, only, and
evidence past its own, far longer one (adr/0016)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.ports import Evidence
from entrypoints.bootstrap import Container, Services
from infrastructure.evidence import EvidenceStore
from infrastructure.settings import load_settings
from infrastructure.webhooks.inbox import InboxStatus, WebhookInbox
from infrastructure.worker.retention import RetentionPolicy, RetentionPruner
from infrastructure.worker.tasks import TaskQueue, TaskStatus
from projections.migrations import upgrade_database
from projections.schema import provider_tasks

OLD = timedelta(days=91)


def _inbox_row(inbox: WebhookInbox, status: InboxStatus, age: timedelta) -> str:
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    inbox.accept("stripe", event_id, "charge.succeeded", b"{}", {})
    with inbox.db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE webhook_inbox SET status = :status, processed_at = now() - :age "
                "WHERE event_id = :event_id"
            ),
            {"status": status.value, "age": age, "event_id": event_id},
        )
    return event_id


def _task(db: Engine, status: TaskStatus, age: timedelta) -> int:
    with db.begin() as conn:
        task_id: int = conn.execute(
            sa.insert(provider_tasks)
            .values(
                kind="cancel",
                payment_id=uuid.uuid4(),
                status=status.value,
                updated_at=sa.func.now() - age,
            )
            .returning(provider_tasks.c.id)
        ).scalar_one()
    return task_id


def test_only_settled_rows_past_retention_are_pruned(db: Engine) -> None:
    upgrade_database(db)
    inbox, queue = WebhookInbox(db), TaskQueue(db)
    old_processed = _inbox_row(inbox, InboxStatus.PROCESSED, OLD)
    old_ignored = _inbox_row(inbox, InboxStatus.IGNORED, OLD)
    old_failed = _inbox_row(inbox, InboxStatus.FAILED, OLD)
    recent = _inbox_row(inbox, InboxStatus.PROCESSED, timedelta(days=1))
    done_old = _task(db, TaskStatus.DONE, OLD)
    failed_old = _task(db, TaskStatus.FAILED, OLD)
    done_recent = _task(db, TaskStatus.DONE, timedelta(days=1))

    pruner = RetentionPruner(inbox, queue, RetentionPolicy(batch=1))
    assert pruner.prune_once() == (2, 1)

    kept = {e.event_id for e in inbox.entries()}
    assert kept == {old_failed, recent}
    assert old_processed not in kept
    assert old_ignored not in kept
    with db.connect() as conn:
        ids = set(conn.execute(sa.select(provider_tasks.c.id)).scalars())
    assert ids == {failed_old, done_recent}
    assert done_old not in ids
    assert pruner.prune_once() == (0, 0)


def _evidence(db: Engine, store: EvidenceStore, age: timedelta) -> str:
    kept = Evidence.of_call("stripe", "refund", "re_1", {"refund_id": uuid.uuid4().hex})
    store.keep(kept)
    with db.begin() as conn:
        conn.execute(
            sa.text("UPDATE evidence SET recorded_at = now() - :age WHERE digest = :digest"),
            {"age": age, "digest": kept.digest},
        )
    return kept.digest


def test_evidence_outlives_the_inbox_and_goes_after_its_own_retention(db: Engine) -> None:
    upgrade_database(db)
    inbox, queue, store = WebhookInbox(db), TaskQueue(db), EvidenceStore(db)
    old_row = _inbox_row(inbox, InboxStatus.PROCESSED, OLD)
    as_old_as_the_row = _evidence(db, store, OLD)
    past_seven_years = _evidence(db, store, timedelta(days=2556))
    recent = _evidence(db, store, timedelta(days=1))

    policy = RetentionPolicy(batch=1)  # the settings' defaults: 90 days, and 2555 for evidence
    pruner = RetentionPruner(inbox, queue, policy, store)
    assert pruner.prune_once() == (1, 0)

    assert old_row not in {e.event_id for e in inbox.entries()}
    assert store.get(as_old_as_the_row) is not None  # the inbox forgot it; evidence keeps it
    assert store.get(recent) is not None
    assert store.get(past_seven_years) is None
    assert pruner.prune_evidence() == 0


def test_the_worker_prunes_evidence_after_evidence_retention_days() -> None:
    settings = load_settings(EVIDENCE_RETENTION_DAYS="30")
    services = Services("postgresql://nobody@127.0.0.1:9/nothing", "", "")
    options = Container(settings, services).worker_options()
    assert options.retention.evidence == timedelta(days=30)
    assert load_settings().evidence_retention_days == 2555
