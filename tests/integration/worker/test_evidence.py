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
from application.checkout_sessions import HostedCheckout, ReturnUrls
from application.payments import PaymentOutcomes
from application.ports import EvidenceKind, PaymentGateway
from application.refunds import Refunds
from domain import Payment, PaymentStatus, RefundStatus
from entrypoints.bootstrap import Container, Services
from infrastructure.evidence import EvidenceStore, KeptEvidence
from infrastructure.payments.stripe.client import StripeCheckoutSessions, stripe_client
from infrastructure.settings import Settings
from tests.integration.payments.sandbox import STRIPE_KEY, ProviderSandbox
from tests.integration.shop import SettableClock, Shop
from tests.integration.worker.conftest import StartWorker
from tests.integration.worker.harness import RunningWorker
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


def test_expiring_a_paid_orders_hosted_session_is_kept_and_named_by_its_closing(
    app: CheckoutApplication,
    shop: Shop,
    sandbox: ProviderSandbox,
    settings: Settings,
    services: Services,
    clock: SettableClock,
    gateways: dict[str, PaymentGateway],
    db: Engine,
) -> None:
    sessions = StripeCheckoutSessions(stripe_client(STRIPE_KEY, sandbox.stripe_base))
    container = Container(
        settings, services, clock=clock, gateways=gateways, checkout_sessions=sessions, pool_size=5
    )
    running = RunningWorker(container).start()
    try:
        placed = shop.buy("stripe")
        payment = wait_until(
            lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
            what="the payment to become payable",
        )
        assert payment.gateway_order_id is not None
        urls = ReturnUrls("https://shop.example/paid", "https://shop.example/cancelled")
        opened = HostedCheckout(app, sessions, clock).open(placed.order.id, "alice", urls)
        session_id = opened.session.session_id
        charged = sandbox.pay_stripe(payment.gateway_order_id)
        PaymentOutcomes(app).succeeded(
            placed.payment.id, charged, placed.payment.amount, placed.payment.currency, "evt_1"
        )
        wait_until(
            lambda: not shop.payment(placed).open_sessions,
            what="the worker to expire the hosted session",
        )
    finally:
        running.stop()

    closed = _last(app, placed.payment.id, Payment.CheckoutSessionClosed)
    assert (closed.session_id, closed.status, closed.actor) == (session_id, "expired", "worker")
    kept = _kept(db, closed.evidence_digest)
    assert (kept.kind, kept.provider, kept.object_id) == (
        EvidenceKind.PROVIDER_CALL,
        "stripe",
        session_id,
    )
    call = json.loads(kept.body)
    assert call["operation"] == "expire_session"
    assert call["request"] == {"session": session_id}
    assert (call["response"]["id"], call["response"]["status"]) == (session_id, "expired")
