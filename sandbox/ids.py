"""Identifiers shaped like the providers' own."""

from __future__ import annotations

import secrets
import string

_ALPHANUMERIC = string.ascii_letters + string.digits
# Random bytes below this map onto the alphabet evenly (4 x 62): the rest are dropped.
_EVEN = len(_ALPHANUMERIC) * (256 // len(_ALPHANUMERIC))


def random_token(length: int) -> str:
    """``length`` alphanumerics, each uniform and from the OS's random source: one read of
    random bytes for the whole token, where ``secrets.choice`` per character made one per
    character (15 µs for a Stripe id, a tenth of the sandbox's CPU per checkout)."""
    chosen: list[str] = []
    while len(chosen) < length:
        wanted = length - len(chosen)
        chosen += [
            _ALPHANUMERIC[b % len(_ALPHANUMERIC)]
            for b in secrets.token_bytes(wanted + wanted // 8 + 2)
            if b < _EVEN
        ]
    return "".join(chosen[:length])


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
