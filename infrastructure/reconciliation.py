"""Running reconciliation: one run at a time, each kept with its summary (adr/0028).

A run holds a PostgreSQL advisory lock for its whole length, so a second run, from the CLI
or another worker, is refused at once (``ReconciliationBusy``). Each provider's part is a
row of ``reconciliation_runs``: ``running``, then ``completed`` with what it compared,
found and repaired, or ``partial`` with the error when the provider could not be listed
(nothing is repaired on partial data; the schedule tries again at its next tick).

The worker's schedule runs it at most once per ``RECONCILE_EVERY_SECONDS`` (a completed
run of the provider started within that time counts), over the last two days up to a few
minutes ago, so that a webhook still in flight is not taken for a missed one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine

from application.ports import Clock, ProviderLedger
from application.reconciliation import PartialListing, Reconciliation
from projections.schema import reconciliation_runs

log = structlog.get_logger(__name__)

DISCREPANCIES = Counter(
    "checkout_reconciliation_discrepancies",
    "Discrepancies reconciliation found, by kind",
    ["kind"],
)
LAST_RUN = Gauge(
    "checkout_reconciliation_last_run_timestamp_seconds",
    "When the last reconciliation run of a provider finished, completed or partial",
    ["provider", "status"],
)
LOCK_KEY = 0x5EC0_7C11  # pg_try_advisory_lock: one reconciliation at a time
WINDOW = timedelta(days=2)
SETTLE = timedelta(minutes=5)  # webhooks of the last minutes may still be on their way
_c = reconciliation_runs.c


class ReconciliationBusy(Exception):
    """Another reconciliation holds the lock."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    provider: str
    status: str
    compared: int
    discrepancies: dict[str, int]
    repairs: int
    error: str | None


class ReconciliationJob:
    def __init__(
        self,
        db: Engine,
        reconciliation: Reconciliation,
        ledgers: Mapping[str, ProviderLedger],
        clock: Clock,
    ) -> None:
        self.db = db
        self.reconciliation = reconciliation
        self.ledgers = ledgers
        self.clock = clock

    def run(
        self,
        actor: str,
        provider: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[RunRecord]:
        """Reconcile each configured provider (or ``provider``) over the window; raises
        ReconciliationBusy while another run holds the lock, KeyError for a provider that
        is not configured."""
        now = self.clock.now()
        until = until or now - SETTLE
        since = since or until - WINDOW
        ledgers = [self.ledgers[provider]] if provider else list(self.ledgers.values())
        with self.db.connect() as lock:
            if not lock.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar():
                raise ReconciliationBusy("another reconciliation is running (it holds the lock)")
            try:
                return [self._run_one(ledger, actor, since, until) for ledger in ledgers]
            finally:
                lock.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
                lock.commit()

    def _run_one(
        self, ledger: ProviderLedger, actor: str, since: datetime, until: datetime
    ) -> RunRecord:
        run_id = f"rec_{uuid.uuid4().hex[:16]}"
        started = self.clock.now()
        with self.db.begin() as conn:
            conn.execute(
                sa.insert(reconciliation_runs).values(
                    run_id=run_id,
                    provider=ledger.provider,
                    window_start=since,
                    window_end=until,
                    actor=actor,
                    status="running",
                    started_at=started,
                )
            )
        log.info("reconciliation started", run=run_id, provider=ledger.provider)
        values: dict[str, Any]
        try:
            summary = self.reconciliation.run(ledger, since, until, run_id)
        except PartialListing as exc:
            values = {"status": "partial", "error": str(exc)[:500]}
            log.warning("reconciliation partial: nothing repaired", run=run_id, error=str(exc))
        else:
            values = {
                "status": "completed",
                "compared": summary.compared,
                "discrepancies": dict(summary.discrepancies),
                "repairs": summary.repairs,
            }
            for kind, count in summary.discrepancies.items():
                DISCREPANCIES.labels(kind).inc(count)
            log.info("reconciliation completed", run=run_id, **summary.as_dict())
        with self.db.begin() as conn:
            conn.execute(
                sa.update(reconciliation_runs)
                .where(_c.run_id == run_id)
                .values(finished_at=self.clock.now(), **values)
            )
        LAST_RUN.labels(ledger.provider, values["status"]).set(self.clock.now().timestamp())
        return self.record(run_id)

    def record(self, run_id: str) -> RunRecord:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(reconciliation_runs).where(_c.run_id == run_id)).one()
        return RunRecord(
            row.run_id,
            row.provider,
            row.status,
            row.compared,
            dict(row.discrepancies),
            row.repairs,
            row.error,
        )

    def due(self, every: timedelta) -> bool:
        """Whether the schedule should run now: no completed run started within ``every``."""
        since = self.clock.now() - every
        with self.db.connect() as conn:
            found = conn.execute(
                sa.select(sa.func.count())
                .select_from(reconciliation_runs)
                .where(_c.status == "completed", _c.started_at > since)
            ).scalar()
        return not found

    def run_forever(self, stop: threading.Event, every: timedelta, tick: float = 60.0) -> None:
        """The worker's schedule; a busy lock or a provider outage waits for the next tick."""
        while not stop.is_set():
            try:
                if self.due(every):
                    self.run("system:reconciliation")
            except ReconciliationBusy:
                log.info("reconciliation skipped: another run holds the lock")
            except Exception as exc:
                log.warning("reconciliation pass failed", error=str(exc))
            stop.wait(tick)


def recent_runs(db: Engine, limit: int = 50) -> Sequence[dict[str, Any]]:
    """The latest runs, newest first, as GET /admin/reconciliations lists them."""
    query = sa.select(reconciliation_runs).order_by(_c.started_at.desc()).limit(limit)
    with db.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
