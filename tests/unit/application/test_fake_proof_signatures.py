"""The in-memory payment signatures under the same contract as the Razorpay adapter."""

from __future__ import annotations

from application.ports import PaymentProofSignatures
from tests.fakes.proof_signatures import FakeProofSignatures
from tests.integration.payments.proof_signatures_contract import ProofSignaturesContract


class TestFakeProofSignatures(ProofSignaturesContract):
    def make_signatures(self) -> PaymentProofSignatures:
        self.fake = FakeProofSignatures()
        return self.fake

    def sign(self, gateway_order_id: str, gateway_payment_id: str) -> str:
        return self.fake.sign(gateway_order_id, gateway_payment_id)
