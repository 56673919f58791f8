"""The PaymentProofSignatures contract: one test case every implementation must pass
(STYLE.md convention 5), the Razorpay adapter and the fake the application tests use.

A subclass gives the port and a way to play Razorpay's side: the signature checkout.js
hands over once the customer has paid a given order with a given payment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import pytest

from application.ports import PaymentProofSignatures

ORDER = "order_Q1aJr7m3sbqY6T"
PAYMENT = "pay_Q1aJzLJm3u2nVb"


class ProofSignaturesContract(ABC):
    @abstractmethod
    def make_signatures(self) -> PaymentProofSignatures: ...

    @abstractmethod
    def sign(self, gateway_order_id: str, gateway_payment_id: str) -> str:
        """The signature checkout.js hands over for this payment of this order."""

    @pytest.fixture
    def signatures(self) -> PaymentProofSignatures:
        return self.make_signatures()

    def test_the_signature_of_a_payment_matches_it(
        self, signatures: PaymentProofSignatures
    ) -> None:
        assert signatures.matches(ORDER, PAYMENT, self.sign(ORDER, PAYMENT))

    def test_it_matches_no_other_order_or_payment(self, signatures: PaymentProofSignatures) -> None:
        signature = self.sign(ORDER, PAYMENT)
        other_order, other_payment = "order_Q1aK0000000000", "pay_Q1aK0000000000"
        self.sign(other_order, other_payment)

        assert not signatures.matches(other_order, PAYMENT, signature)
        assert not signatures.matches(ORDER, other_payment, signature)
        assert not signatures.matches(other_order, other_payment, signature)

    @pytest.mark.parametrize(
        "tampered", ["", "0" * 64, "f" * 64, "é" * 64, "not a signature"], ids=repr
    )
    def test_a_tampered_signature_matches_nothing_and_raises_nothing(
        self, signatures: PaymentProofSignatures, tampered: str
    ) -> None:
        self.sign(ORDER, PAYMENT)

        assert not signatures.matches(ORDER, PAYMENT, tampered)

    def test_the_signature_changes_with_any_part_of_it(
        self, signatures: PaymentProofSignatures
    ) -> None:
        signature = self.sign(ORDER, PAYMENT)
        flipped = ("0" if signature[0] != "0" else "1") + signature[1:]

        assert not signatures.matches(ORDER, PAYMENT, flipped)
        assert not signatures.matches(ORDER, PAYMENT, signature.upper())
