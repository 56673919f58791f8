"""The worker keeps every provider call (request and the provider's raw answer) in the
evidence table, and the event the call leads to names the worker and the digest (adr/0016).
Real SDKs against the sandbox."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.ports import EvidenceKind, PaymentGateway
from application.refunds import Refunds
from domain import Payment, PaymentStatus, RefundStatus
from infrastructure.evidence import EvidenceStore, KeptEvidence
from tests.integration.payments.sandbox import ProviderSandbox
from tests.integration.shop import Shop
from tests.integration.worker.conftest import StartWorker
from tests.integration.worker.test_refunds import paid_order
from tests.waiting import wait_until


def _last(app: CheckoutApplication, aggregate_id: UUID, kind: type) -> Any:
    return [e for e in app.events.get(aggregate_id) if isinstance(e, kind)][-1]


def _kept(db: Engine, digest: str | None) -> KeptEvidence:
    assert digest is not None, "the event names no evidence"
    kept = EvidenceStore(db).get(digest)
    assert kept is not None, "the evidence the event names is not kept"
    assert hashlib.sha256(kept.body.encode()).hexdigest() == digest
    return kept


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_the_create_call_is_kept_and_named_by_the_payable_event(
    provider: str,
    shop: Shop,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    db: Engine,
) -> None:
    placed = shop.buy(provider)
    worker(gateways)
    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
        what="the payment to become payable",
    )

    created = _last(shop.app, placed.payment.id, Payment.ProviderOrderCreated)
    assert created.actor == "worker"
    kept = _kept(db, created.evidence_digest)
    assert (kept.kind, kept.provider, kept.object_id) == (
        EvidenceKind.PROVIDER_CALL,
        provider,
        payment.gateway_order_id,
    )
    call = json.loads(kept.body)
    assert call["operation"] == "create_order"
    assert call["response"]["id"] == payment.gateway_order_id  # the provider's own JSON
    sent = call["request"]["params"] if provider == "stripe" else call["request"]
    assert sent["metadata" if provider == "stripe" else "notes"]["paymentId"] == str(
        placed.payment.id
    )


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_refund_call_is_kept_and_named_by_its_settlement(
    provider: str,
    app: CheckoutApplication,
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    db: Engine,
) -> None:
    worker(gateways)
    placed, charged = paid_order(app, shop, sandbox, provider)
    requested = Refunds(app).request(
        placed.order.id, 1000, "one arrived broken", "admin:ann", uuid.uuid4().hex
    )
    wait_until(
        lambda: shop.payment(placed).refunds[requested.refund_id]["status"] != RefundStatus.PENDING,
        what="the refund to be settled",
    )

    settled = _last(app, placed.payment.id, Payment.RefundCompleted)
    assert settled.actor == "worker"
    call = json.loads(_kept(db, settled.evidence_digest).body)
    assert call["operation"] == "refund"
    assert call["response"]["id"] == settled.gateway_refund_id
    assert charged in json.dumps(call["request"])
