"""Identifiers shaped like the providers' own."""

from __future__ import annotations

import secrets
import string

_ALPHANUMERIC = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def stripe_id(prefix: str) -> str:
    """``pi_3Nq...``: Stripe ids are a prefix and 24 alphanumerics."""
    return f"{prefix}_3{random_token(23)}"


def stripe_checkout_session_id() -> str:
    return f"cs_test_a1{random_token(56)}"


def stripe_request_id() -> str:
    return f"req_{random_token(14)}"


def razorpay_id(prefix: str) -> str:
    """``order_EKwxwAgItmmXdp``: Razorpay ids are a prefix and 14 alphanumerics."""
    return f"{prefix}_{random_token(14)}"


def razorpay_event_id() -> str:
    return random_token(14)
