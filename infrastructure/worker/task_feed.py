"""The provider-task feed: which provider call each event of the log asks for.

- ``Payment.Initiated``: create the provider order/intent;
- ``Order.Cancelled``: cancel it (the executor checks that one exists);
- ``Payment.RefundRequested``: refund;
- ``Payment.Succeeded``: close the payment's other ways to pay (sessions, the intent);
- ``Payment.CaptureRequested``: capture the authorization (manual capture).

A follower of the log, not a read model: the worker process's shared follower drives it
(projections.runner, adr/0022), so its rows and its tracking position commit together
(exactly once) and a LISTEN wakes it. Its page's write also NOTIFYs ``provider_tasks``;
PostgreSQL delivers it at that commit, to wake idle executors at once.

It fills a work queue, so it is never rebuilt (it is no ``Projection``): a replay from the
first event would add nothing (the unique call key) but would be pointless work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Order, Payment
from infrastructure.worker.tasks import TaskKind, provider_tasks
from projections.follower import DomainEvent
from projections.rows import RowsUpsert, Write
from projections.statements import NOTHING, PlannedFollower, Prepared

TASKS_CHANNEL = "provider_tasks"

TaskRow = dict[str, Any]
TaskFor = Callable[[Any], TaskRow]


def _create_order(event: Payment.Initiated) -> TaskRow:
    return {
        "kind": TaskKind.CREATE_ORDER.value,
        "payment_id": event.originator_id,
        "order_id": event.order_id,
        "amount": event.amount,
    }


def _cancel(event: Order.Cancelled) -> TaskRow:
    return {
        "kind": TaskKind.CANCEL.value,
        "payment_id": Payment.id_for(event.originator_id),
        "order_id": event.originator_id,
    }


def _refund(event: Payment.RefundRequested) -> TaskRow:
    return {
        "kind": TaskKind.REFUND.value,
        "payment_id": event.originator_id,
        "refund_id": event.refund_id,
        "amount": event.amount,
    }


def _capture(event: Payment.CaptureRequested) -> TaskRow:
    # The capture's id rides in refund_id: with the kind, the task's unique call key.
    return {
        "kind": TaskKind.CAPTURE.value,
        "payment_id": event.originator_id,
        "refund_id": event.capture_id,
        "amount": event.amount,
    }


def _close_open(event: Payment.Succeeded | Payment.PaidOutOfBand) -> TaskRow:
    return {"kind": TaskKind.CLOSE_OPEN.value, "payment_id": event.originator_id}


_BLANK: TaskRow = {"order_id": None, "refund_id": None, "amount": None}
_COLUMNS = ("kind", "payment_id", "order_id", "refund_id", "amount")


class ProviderTaskFeed(PlannedFollower):
    # Stored in its tracking row and dead letters: the follower name never changes.
    name: ClassVar[str] = "provider_tasks"
    tasks: ClassVar[Mapping[type[Any], TaskFor]] = {
        Payment.Initiated: _create_order,
        Order.Cancelled: _cancel,
        Payment.RefundRequested: _refund,
        Payment.Succeeded: _close_open,
        Payment.CaptureRequested: _capture,
        Payment.PaidOutOfBand: _close_open,
    }

    def __init__(self, table: sa.Table = provider_tasks) -> None:
        super().__init__()
        self.table = table
        # Any conflict (the unique call key) means the task is there already: a replay.
        self._insert = RowsUpsert(table, _COLUMNS, conflict=(), update=False)

    def followed(self) -> Iterable[type[Any]]:
        return self.tasks

    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        rows = [_BLANK | self.tasks[type(e)](e) for e in domain_events if type(e) in self.tasks]
        if not rows:
            return NOTHING
        # The doorbell rings when the page commits (executors LISTEN on the channel).
        write = Write(self._insert.sql, self._insert.parameters(rows), notify=TASKS_CHANNEL)
        return Prepared(finish=lambda: [write])
