"""Razorpay's payment proof is genuine, for the customer's order and for its money, or refused.

The proof confirms nothing (a webhook does): these tests only ask what verify answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.errors import OrderNotFound, PaymentProofRefused, WrongProvider
from application.payment_proofs import PaymentProof, PaymentProofs
from application.payments import PaymentOutcomes
from application.ports import ProviderNotConfigured, ProviderOrderRequest, TransientProviderError
from domain import PaymentStatus, Provider
from tests.fakes.gateway import FakeGateway
from tests.fakes.proof_signatures import FakeProofSignatures

Place = Callable[..., Placed]


@pytest.fixture
def signatures() -> FakeProofSignatures:
    return FakeProofSignatures()


@pytest.fixture
def proofs(
    app: CheckoutApplication, signatures: FakeProofSignatures, razorpay: FakeGateway
) -> PaymentProofs:
    return PaymentProofs(app, signatures, razorpay)


@pytest.fixture
def place(
    catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes, razorpay: FakeGateway
) -> Place:
    """Place an order of 2 mugs (2500 USD) with Razorpay; its Razorpay order is created."""

    def placing(customer: str = "alice") -> Placed:
        placed = checkout(CheckoutRequest(customer, (CartItem("MUG", 2),), "razorpay"))
        payment = placed.payment
        created = razorpay.create_order(
            ProviderOrderRequest(payment.id, placed.order.id, payment.amount, payment.currency)
        )
        payments.provider_order_created(payment.id, created.gateway_order_id, key_id=created.key_id)
        return placed

    return placing


@pytest.fixture
def placed(place: Place) -> Placed:
    """Alice's order, its Razorpay order created and not yet paid."""
    return place()


@pytest.fixture
def proof(razorpay: FakeGateway, signatures: FakeProofSignatures, placed: Placed) -> PaymentProof:
    """Alice pays her order in full: the genuine proof checkout.js hands over."""
    return _paid(razorpay, signatures, placed)


@pytest.fixture
def another_orders_proof(
    place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures, placed: Placed
) -> PaymentProof:
    """Alice places and pays a second order: a genuine proof, but not for ``placed``."""
    return _paid(razorpay, signatures, place())


def _gateway_order_id(razorpay: FakeGateway, placed: Placed) -> str:
    (gateway_order_id,) = razorpay.objects_for(placed.payment.id)
    return gateway_order_id


def _paid(razorpay: FakeGateway, signatures: FakeProofSignatures, placed: Placed) -> PaymentProof:
    """The customer pays in full; the proof checkout.js hands over."""
    order = _gateway_order_id(razorpay, placed)
    payment = razorpay.pay(order)
    return PaymentProof(order, payment, signatures.sign(order, payment))


class Refusal(NamedTuple):
    field: str
    reason: str
    asked_razorpay: bool  # for the payment the proof names


def _refusal(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> Refusal:
    with pytest.raises(PaymentProofRefused) as refused:
        proofs.verify(placed.order.id, placed.order.customer_id, proof)
    return Refusal(refused.value.field, refused.value.reason, razorpay.calls_of("charge") != [])


def test_a_genuine_proof_answers_the_payment_status(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> None:
    status = proofs.verify(placed.order.id, "alice", proof)

    # Still pending: only the webhook records the capture.
    assert status is PaymentStatus.PENDING
    assert razorpay.calls_of("charge") == [proof.razorpay_payment_id]


def test_another_customers_order_is_not_found(
    proofs: PaymentProofs, placed: Placed, proof: PaymentProof
) -> None:
    with pytest.raises(OrderNotFound):
        proofs.verify(placed.order.id, "mallory", proof)


def test_a_stripe_order_has_no_razorpay_proof(
    proofs: PaymentProofs, catalog: Catalog, checkout: Checkout
) -> None:
    placed = checkout(CheckoutRequest("alice", (CartItem("MUG", 1),), "stripe"))
    proof = PaymentProof("order_x", "pay_x", "0" * 64)

    with pytest.raises(WrongProvider) as wrong:
        proofs.verify(placed.order.id, "alice", proof)

    assert (wrong.value.provider, wrong.value.expected) == (Provider.STRIPE, Provider.RAZORPAY)


def test_a_proof_for_another_razorpay_order_is_refused_before_its_signature(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, another_orders_proof: PaymentProof
) -> None:
    assert _refusal(proofs, razorpay, placed, another_orders_proof) == Refusal(
        "razorpay_order_id", "is not this order's Razorpay order", asked_razorpay=False
    )


def test_a_tampered_signature_is_refused_without_asking_razorpay(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> None:
    tampered = replace(proof, razorpay_signature="f" * 64)

    assert _refusal(proofs, razorpay, placed, tampered) == Refusal(
        "razorpay_signature", "does not match the order and payment ids", asked_razorpay=False
    )


def test_a_payment_razorpay_does_not_know_is_refused(
    proofs: PaymentProofs, razorpay: FakeGateway, signatures: FakeProofSignatures, placed: Placed
) -> None:
    order = _gateway_order_id(razorpay, placed)
    unknown = PaymentProof(order, "pay_NeverMade0001", signatures.sign(order, "pay_NeverMade0001"))

    assert _refusal(proofs, razorpay, placed, unknown) == Refusal(
        "razorpay_payment_id", "is not a Razorpay payment", asked_razorpay=True
    )


def test_a_payment_of_another_razorpay_order_is_refused(
    proofs: PaymentProofs,
    razorpay: FakeGateway,
    signatures: FakeProofSignatures,
    placed: Placed,
    another_orders_proof: PaymentProof,
) -> None:
    elsewhere = another_orders_proof.razorpay_payment_id
    order = _gateway_order_id(razorpay, placed)
    # Signed for this order's id with a payment of the other: what a forger would try.
    forged = PaymentProof(order, elsewhere, signatures.sign(order, elsewhere))

    assert _refusal(proofs, razorpay, placed, forged) == Refusal(
        "razorpay_payment_id",
        "is not a payment of this order's Razorpay order",
        asked_razorpay=True,
    )


def test_a_genuine_proof_of_less_money_is_refused(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> None:
    razorpay.charges[proof.razorpay_payment_id].amount = 499  # the customer paid 4.99

    assert _refusal(proofs, razorpay, placed, proof) == Refusal(
        "razorpay_payment_id", "paid 499 USD, the order is 2500 USD", asked_razorpay=True
    )


def test_razorpay_unreachable_is_transient(
    proofs: PaymentProofs, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> None:
    razorpay.reachable = False

    with pytest.raises(TransientProviderError):
        proofs.verify(placed.order.id, "alice", proof)


def test_without_the_key_secret_nothing_is_checked(
    app: CheckoutApplication, razorpay: FakeGateway, placed: Placed, proof: PaymentProof
) -> None:
    with pytest.raises(ProviderNotConfigured):
        PaymentProofs(app, None, razorpay).verify(placed.order.id, "alice", proof)
    assert razorpay.calls_of("charge") == []


def test_without_the_razorpay_gateway_a_genuine_proof_cannot_be_checked(
    app: CheckoutApplication,
    razorpay: FakeGateway,
    signatures: FakeProofSignatures,
    placed: Placed,
    proof: PaymentProof,
) -> None:
    proofs = PaymentProofs(app, signatures, None)

    with pytest.raises(ProviderNotConfigured):
        proofs.verify(placed.order.id, "alice", proof)
    # The signature is still checked first: a forged proof is refused as such.
    forged = replace(proof, razorpay_signature="0" * 64)
    assert _refusal(proofs, razorpay, placed, forged).field == "razorpay_signature"
