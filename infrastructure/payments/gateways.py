"""Gateways for the providers the settings configure (none configured: an empty map)."""

from __future__ import annotations

from application.ports import PaymentGateway
from domain import Provider
from infrastructure.payments.metrics import InstrumentedGateway
from infrastructure.payments.razorpay.client import RazorpayGateway, razorpay_client
from infrastructure.payments.stripe.client import (
    StripeCheckoutSessions,
    StripeGateway,
    stripe_client,
)
from infrastructure.settings import Settings


def gateways_from_settings(settings: Settings) -> dict[str, PaymentGateway]:
    """One instrumented gateway per provider with credentials; others are left out."""
    gateways: dict[str, PaymentGateway] = {}
    if settings.stripe_secret_key:
        client = stripe_client(settings.stripe_secret_key, settings.stripe_api_base)
        gateways[Provider.STRIPE.value] = InstrumentedGateway(StripeGateway(client))
    if settings.razorpay_key_id and settings.razorpay_key_secret:
        razorpay = razorpay_client(
            settings.razorpay_key_id, settings.razorpay_key_secret, settings.razorpay_api_base
        )
        gateway = RazorpayGateway(razorpay, settings.razorpay_key_id)
        gateways[Provider.RAZORPAY.value] = InstrumentedGateway(gateway)
    return gateways


def checkout_sessions_from_settings(settings: Settings) -> StripeCheckoutSessions | None:
    """Stripe's hosted Checkout, when Stripe is configured."""
    if not settings.stripe_secret_key:
        return None
    return StripeCheckoutSessions(
        stripe_client(settings.stripe_secret_key, settings.stripe_api_base)
    )
