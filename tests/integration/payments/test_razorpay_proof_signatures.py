"""The Razorpay adapter under the PaymentProofSignatures contract: HMAC-SHA256 of
``"<order_id>|<payment_id>"`` with the key secret, as Razorpay documents it."""

from __future__ import annotations

import hashlib
import hmac

from application.ports import PaymentProofSignatures
from infrastructure.payments.razorpay.client import RazorpayPaymentProofSignatures
from tests.integration.payments.proof_signatures_contract import (
    ORDER,
    PAYMENT,
    ProofSignaturesContract,
)

KEY_SECRET = "rzp_test_key_secret_0123456789"


def _hmac(message: str, secret: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class TestRazorpayPaymentProofSignatures(ProofSignaturesContract):
    def make_signatures(self) -> PaymentProofSignatures:
        return RazorpayPaymentProofSignatures(KEY_SECRET)

    def sign(self, gateway_order_id: str, gateway_payment_id: str) -> str:
        return _hmac(f"{gateway_order_id}|{gateway_payment_id}", KEY_SECRET)


def test_a_signature_made_with_another_key_secret_does_not_match() -> None:
    signatures = RazorpayPaymentProofSignatures(KEY_SECRET)

    assert not signatures.matches(ORDER, PAYMENT, _hmac(f"{ORDER}|{PAYMENT}", "other_secret"))
