"""checkout.js's payment signatures in memory, behind the PaymentProofSignatures port.

``sign`` plays Razorpay's side (what checkout.js hands over once the customer has paid);
``matches`` answers as the Razorpay adapter does: only that signature, of that payment of
that order. The port's contract (tests/integration/payments/proof_signatures_contract.py)
runs against it and against the adapter, so the two cannot drift apart (STYLE.md
convention 5).
"""

from __future__ import annotations

import hmac
import secrets


class FakeProofSignatures:
    def __init__(self) -> None:
        self._issued: dict[tuple[str, str], str] = {}

    def sign(self, gateway_order_id: str, gateway_payment_id: str) -> str:
        key = (gateway_order_id, gateway_payment_id)
        return self._issued.setdefault(key, secrets.token_hex(32))

    def matches(self, gateway_order_id: str, gateway_payment_id: str, signature: str) -> bool:
        issued = self._issued.get((gateway_order_id, gateway_payment_id))
        # Bytes, so a non-ASCII signature compares unequal instead of raising.
        return issued is not None and hmac.compare_digest(issued.encode(), signature.encode())
