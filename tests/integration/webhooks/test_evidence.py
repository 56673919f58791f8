"""A webhook that changes state is named by the events it caused, by its provider event id
and the SHA-256 of its raw body, and its body is kept in the evidence table (adr/0016)."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.ports import EvidenceKind
from domain import Order, Payment, Stock
from infrastructure.evidence import EvidenceStore
from infrastructure.webhooks.inbox import InboxStatus
from tests.integration.shop import Shop
from tests.integration.webhooks.conftest import Provider


def _last(app: CheckoutApplication, aggregate_id: UUID, kind: type) -> Any:
    return [e for e in app.events.get(aggregate_id) if isinstance(e, kind)][-1]


def test_a_stripe_success_names_its_event_and_body_and_keeps_the_body(
    provider: Provider, shop: Shop, db: Engine
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_evidence1")
    intent = {
        "id": "pi_evidence1",
        "metadata": {"paymentId": str(placed.payment.id)},
        "amount": placed.payment.amount,
        "currency": placed.payment.currency,
    }

    paid = provider.stripe("payment_intent.succeeded", intent)

    assert paid.status is InboxStatus.PROCESSED
    event_id = paid.entry.event_id
    digest = hashlib.sha256(paid.entry.body).hexdigest()
    succeeded = _last(shop.app, placed.payment.id, Payment.Succeeded)
    confirmed = _last(shop.app, placed.order.id, Order.Confirmed)
    for event in (succeeded, confirmed):
        assert event.actor == f"provider:stripe:{event_id}"
        assert (event.provider_event_id, event.evidence_digest) == (event_id, digest)
    assert _last(shop.app, Stock.id_for("MUG"), Stock.Committed).actor == succeeded.actor

    kept = EvidenceStore(db).get(digest)
    assert kept is not None
    assert (kept.kind, kept.provider, kept.object_id) == (
        EvidenceKind.WEBHOOK,
        "stripe",
        "pi_evidence1",
    )
    assert kept.body.encode() == paid.entry.body  # byte for byte what was signed


def test_a_razorpay_capture_names_its_body_digest(
    provider: Provider, shop: Shop, db: Engine
) -> None:
    placed = shop.buy("razorpay")
    provider.open_at_provider(placed, "order_evidence1")
    provider.project_payments()  # Razorpay payments are found by their order, in the view
    payment = {
        "id": "pay_evidence1",
        "order_id": "order_evidence1",
        "amount": placed.payment.amount,
        "currency": placed.payment.currency,
    }

    captured = provider.razorpay("payment.captured", payment=payment)

    assert captured.status is InboxStatus.PROCESSED
    digest = hashlib.sha256(captured.entry.body).hexdigest()
    succeeded = _last(shop.app, placed.payment.id, Payment.Succeeded)
    assert succeeded.actor == f"provider:razorpay:{captured.entry.event_id}"
    assert succeeded.evidence_digest == digest
    kept = EvidenceStore(db).get(digest)
    assert kept is not None
    assert kept.object_id == "pay_evidence1"


def test_a_webhook_that_changes_nothing_keeps_no_body(
    provider: Provider, shop: Shop, db: Engine
) -> None:
    ignored = provider.stripe("payment_intent.created", {"id": "pi_evidence_ignored"})
    assert ignored.status is InboxStatus.IGNORED
    assert EvidenceStore(db).get(hashlib.sha256(ignored.entry.body).hexdigest()) is None


def test_a_refund_failure_from_a_webhook_names_the_webhook(
    provider: Provider, shop: Shop, db: Engine
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_evidence2")
    shop.pay(placed, "pi_evidence2")
    requested = shop.container.refunds.request(
        placed.order.id, 100, "broken", "admin:ann", "key-evidence-2"
    )
    refund = {
        "id": "re_evidence2",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "metadata": {"refundId": requested.refund_id, "paymentId": str(placed.payment.id)},
    }

    failed = provider.stripe("refund.failed", refund)

    event = _last(shop.app, placed.payment.id, Payment.RefundFailed)
    assert event.actor == f"provider:stripe:{failed.entry.event_id}"
    assert event.evidence_digest == hashlib.sha256(failed.entry.body).hexdigest()
    kept = EvidenceStore(db).get(event.evidence_digest)
    assert kept is not None
    assert json.loads(kept.body)["data"]["object"]["id"] == "re_evidence2"
