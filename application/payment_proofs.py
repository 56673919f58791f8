"""Razorpay's payment proof: what checkout.js hands the frontend once the customer has paid.

A proof confirms nothing: only the provider's webhook does (adr/0008). Checking it tells
the frontend that the proof is genuine, so it can show "processing" rather than an error
while the webhook is on its way. Genuine means signed for the Razorpay order id the engine
stored, never the one the client sent; and a signature covers only the ids checkout.js
saw, so the money is read back from Razorpay, never taken from the client (adr/0009).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from uuid import UUID

from application.application import CheckoutApplication
from application.errors import PaymentProofRefused, WrongProvider
from application.orders import OrderLifecycle
from application.ports import (
    PaymentGateway,
    PaymentProofSignatures,
    PermanentProviderError,
    ProviderNotConfigured,
)
from domain import Payment, PaymentStatus, Provider

ORDER_ID = "razorpay_order_id"
PAYMENT_ID = "razorpay_payment_id"
SIGNATURE = "razorpay_signature"


@dataclass(frozen=True)
class PaymentProof:
    """The three values checkout.js hands its handler, named as Razorpay names them."""

    razorpay_order_id: str
    razorpay_payment_id: str
    razorpay_signature: str


class PaymentProofs:
    """``signatures`` and ``gateway`` are None where Razorpay is not configured."""

    def __init__(
        self,
        app: CheckoutApplication,
        signatures: PaymentProofSignatures | None,
        gateway: PaymentGateway | None,
    ) -> None:
        self.app = app
        self.signatures = signatures
        self.gateway = gateway
        self.orders = OrderLifecycle(app)

    def verify(self, order_id: UUID, customer_id: str, proof: PaymentProof) -> PaymentStatus:
        """The payment's status, once the proof checks out for the customer's order.

        Raises OrderNotFound, WrongProvider (not a Razorpay order), ProviderNotConfigured,
        PaymentProofRefused, TransientProviderError (Razorpay could not be asked).
        """
        order = self.orders.get(order_id, customer_id)
        if order.provider is not Provider.RAZORPAY:
            raise WrongProvider(order.id, order.provider, Provider.RAZORPAY)
        if self.signatures is None:
            raise ProviderNotConfigured(Provider.RAZORPAY.value)
        payment = self.app.load(Payment, order.payment_id)
        stored = payment.gateway_order_id or ""
        if not hmac.compare_digest(stored.encode(), proof.razorpay_order_id.encode()):
            raise PaymentProofRefused(ORDER_ID, "is not this order's Razorpay order")
        if not self.signatures.matches(stored, proof.razorpay_payment_id, proof.razorpay_signature):
            raise PaymentProofRefused(SIGNATURE, "does not match the order and payment ids")
        self._check_charge(payment, proof.razorpay_payment_id)
        return payment.status

    def _check_charge(self, payment: Payment, gateway_payment_id: str) -> None:
        """The same checks as the webhook's: the payment is on this order, for its money."""
        if self.gateway is None:
            raise ProviderNotConfigured(Provider.RAZORPAY.value)
        try:
            charge = self.gateway.charge(gateway_payment_id)
        except PermanentProviderError:
            raise PaymentProofRefused(PAYMENT_ID, "is not a Razorpay payment") from None
        if charge.gateway_order_id != payment.gateway_order_id:
            raise PaymentProofRefused(PAYMENT_ID, "is not a payment of this order's Razorpay order")
        if (charge.amount, charge.currency) != (payment.amount, payment.currency):
            raise PaymentProofRefused(
                PAYMENT_ID,
                f"paid {charge.amount} {charge.currency}, the order is "
                f"{payment.amount} {payment.currency}",
            )
