"""Captures that match no payment of the engine: recorded for a person, never applied."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from application.application import CheckoutApplication
from application.payments import Outcome
from domain import ForeignCapture


@dataclass(frozen=True)
class ForeignCaptureNotice:
    provider: str
    gateway_payment_id: str
    gateway_order_id: str | None
    amount: int  # provider units of ``currency``
    currency: str
    claimed_payment_id: str | None
    detail: str
    provider_event_id: str | None = None


class ForeignCaptures:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def record(self, notice: ForeignCaptureNotice) -> Outcome:
        """Record it once per provider charge; a repeated notice changes nothing."""
        capture_id = ForeignCapture.id_for(notice.provider, notice.gateway_payment_id)
        try:
            self.app.load(ForeignCapture, capture_id)
            return Outcome(False, None)
        except AggregateNotFoundError:
            pass
        capture = ForeignCapture.record(
            notice.provider,
            notice.gateway_payment_id,
            notice.gateway_order_id,
            notice.amount,
            notice.currency,
            notice.claimed_payment_id,
            notice.detail,
            notice.provider_event_id,
        )
        try:
            recordings = self.app.save(capture)
        except RecordConflictError:  # the same notice, recorded concurrently
            return Outcome(False, None)
        return Outcome(True, recordings[-1].notification.id)
