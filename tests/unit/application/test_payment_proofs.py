"""Razorpay's payment proof is genuine, for the customer's order and for its money, or refused.

The proof confirms nothing (a webhook does): these tests only ask what verify answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

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
def razorpay() -> FakeGateway:
    return FakeGateway(Provider.RAZORPAY.value)


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


def _gateway_order_id(razorpay: FakeGateway, placed: Placed) -> str:
    (gateway_order_id,) = razorpay.objects_for(placed.payment.id)
    return gateway_order_id


def _paid(razorpay: FakeGateway, signatures: FakeProofSignatures, placed: Placed) -> PaymentProof:
    """The customer pays in full; the proof checkout.js hands over."""
    order = _gateway_order_id(razorpay, placed)
    payment = razorpay.pay(order)
    return PaymentProof(order, payment, signatures.sign(order, payment))


def _refusal(proofs: PaymentProofs, placed: Placed, proof: PaymentProof) -> tuple[str, str]:
    with pytest.raises(PaymentProofRefused) as refused:
        proofs.verify(placed.order.id, placed.order.customer_id, proof)
    return refused.value.field, refused.value.reason


def test_a_genuine_proof_answers_the_payment_status(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)

    status = proofs.verify(placed.order.id, "alice", proof)

    # Still pending: only the webhook records the capture.
    assert status is PaymentStatus.PENDING
    assert razorpay.calls_of("charge") == [proof.razorpay_payment_id]


def test_another_customers_order_is_not_found(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)

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
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed, other = place(), place()
    proof = _paid(razorpay, signatures, other)  # genuine, but for the other order

    assert _refusal(proofs, placed, proof) == (
        "razorpay_order_id",
        "is not this order's Razorpay order",
    )
    assert razorpay.calls_of("charge") == []


def test_a_tampered_signature_is_refused_without_asking_razorpay(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    proof = replace(_paid(razorpay, signatures, placed), razorpay_signature="f" * 64)

    assert _refusal(proofs, placed, proof) == (
        "razorpay_signature",
        "does not match the order and payment ids",
    )
    assert razorpay.calls_of("charge") == []


def test_a_payment_razorpay_does_not_know_is_refused(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    order = _gateway_order_id(razorpay, placed)
    proof = PaymentProof(order, "pay_NeverMade0001", signatures.sign(order, "pay_NeverMade0001"))

    assert _refusal(proofs, placed, proof) == ("razorpay_payment_id", "is not a Razorpay payment")


def test_a_payment_of_another_razorpay_order_is_refused(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed, other = place(), place()
    elsewhere = _paid(razorpay, signatures, other).razorpay_payment_id
    order = _gateway_order_id(razorpay, placed)
    # Signed for this order's id with a payment of the other: what a forger would try.
    proof = PaymentProof(order, elsewhere, signatures.sign(order, elsewhere))

    assert _refusal(proofs, placed, proof) == (
        "razorpay_payment_id",
        "is not a payment of this order's Razorpay order",
    )


def test_a_genuine_proof_of_less_money_is_refused(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)
    razorpay.charges[proof.razorpay_payment_id].amount = 499  # the customer paid 4.99

    assert _refusal(proofs, placed, proof) == (
        "razorpay_payment_id",
        "paid 499 USD, the order is 2500 USD",
    )


def test_razorpay_unreachable_is_transient(
    proofs: PaymentProofs, place: Place, razorpay: FakeGateway, signatures: FakeProofSignatures
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)
    razorpay.reachable = False

    with pytest.raises(TransientProviderError):
        proofs.verify(placed.order.id, "alice", proof)


def test_without_the_key_secret_nothing_is_checked(
    app: CheckoutApplication,
    place: Place,
    razorpay: FakeGateway,
    signatures: FakeProofSignatures,
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)

    with pytest.raises(ProviderNotConfigured):
        PaymentProofs(app, None, razorpay).verify(placed.order.id, "alice", proof)
    assert razorpay.calls_of("charge") == []


def test_without_the_razorpay_gateway_a_genuine_proof_cannot_be_checked(
    app: CheckoutApplication,
    place: Place,
    razorpay: FakeGateway,
    signatures: FakeProofSignatures,
) -> None:
    placed = place()
    proof = _paid(razorpay, signatures, placed)
    proofs = PaymentProofs(app, signatures, None)

    with pytest.raises(ProviderNotConfigured):
        proofs.verify(placed.order.id, "alice", proof)
    # The signature is still checked first: a forged proof is refused as such.
    forged = replace(proof, razorpay_signature="0" * 64)
    assert _refusal(proofs, placed, forged)[0] == "razorpay_signature"
