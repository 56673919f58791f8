"""`run` with no provider keys: the built-in sandbox stands in for Stripe and Razorpay.

The sandbox runs as a supervised role; the engine's roles get test keys pointing at it,
and the sandbox signs the webhooks it sends to the API with secrets generated here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from infrastructure.settings import Settings
from infrastructure.webhooks.applier import subscribed_event_types


@dataclass(frozen=True)
class SandboxWiring:
    base_url: str
    environment: dict[str, str]  # provider settings for the engine's roles
    arguments: list[str]  # for `checkout-engine sandbox`


def sandbox_wiring(settings: Settings, api_base: str) -> SandboxWiring | None:
    """How to wire the sandbox in, or None when real provider keys are configured."""
    if settings.stripe_secret_key or settings.razorpay_key_id:
        return None
    base = f"http://127.0.0.1:{settings.sandbox_port}"
    stripe_secret = "whsec_" + secrets.token_hex(24)
    razorpay_secret = secrets.token_hex(24)
    environment = {
        "STRIPE_SECRET_KEY": "sk_test_sandbox" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": stripe_secret,
        "STRIPE_API_BASE": f"{base}/stripe",
        "RAZORPAY_KEY_ID": "rzp_test_sandbox" + secrets.token_hex(4),
        "RAZORPAY_KEY_SECRET": secrets.token_hex(16),
        "RAZORPAY_WEBHOOK_SECRET": razorpay_secret,
        "RAZORPAY_API_BASE": f"{base}/razorpay",
    }
    arguments = [
        "--port",
        str(settings.sandbox_port),
        "--stripe-webhook-url",
        f"{api_base}/webhooks/stripe",
        "--stripe-webhook-secret",
        stripe_secret,
        "--razorpay-webhook-url",
        f"{api_base}/webhooks/razorpay",
        "--razorpay-webhook-secret",
        razorpay_secret,
        # Subscribed as the README tells operators to subscribe a real endpoint.
        "--stripe-webhook-events",
        ",".join(subscribed_event_types("stripe")),
        "--razorpay-webhook-events",
        ",".join(subscribed_event_types("razorpay")),
        # A line per provider call would be the noisiest part of run's log; the engine
        # keeps each call's evidence itself (adr/0016).
        "--no-access-log",
    ]
    return SandboxWiring(base, environment, arguments)
