"""The signatures Stripe and Razorpay put on their webhooks."""

from __future__ import annotations

import hashlib
import hmac


def stripe_signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def razorpay_signature(message: bytes, secret: str) -> str:
    """Hex HMAC-SHA256; Razorpay signs webhook bodies and ``"<order_id>|<payment_id>"`` alike."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
