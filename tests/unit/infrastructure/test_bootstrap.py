"""The composition root takes fakes in place of what the settings would build (adr/0014)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.catalog import CatalogEntry
from application.checkout import CartItem, CheckoutRequest
from domain import Payment, PaymentStatus
from entrypoints.bootstrap import Container, Services
from entrypoints.embedded.broker import free_port
from infrastructure.settings import load_settings
from tests.fakes import FakeGateway

STRIPE_KEYS = {"STRIPE_SECRET_KEY": "sk_test_bootstrap", "STRIPE_API_BASE": "http://127.0.0.1:9"}


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def nowhere() -> Services:
    """A database nothing listens on: a container that connected would fail."""
    return Services(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing", "127.0.0.1:9", "")


def test_without_overrides_the_gateways_come_from_the_settings() -> None:
    container = Container(load_settings(**STRIPE_KEYS), nowhere())

    assert set(container.gateways) == {"stripe"}
    assert container.checkout_sessions is not None


def test_a_fake_gateway_and_clock_replace_the_configured_ones_end_to_end() -> None:
    fake = FakeGateway("stripe")
    clock = FixedClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    settings = load_settings(PAYMENT_TTL_SECONDS="600", **STRIPE_KEYS)
    container = Container(
        settings, nowhere(), gateways={"stripe": fake}, clock=clock, in_memory=True
    )
    try:
        container.catalog.upsert([CatalogEntry("MUG", "Mug", "vendor-a", 1250, "USD", 3)])
        placed = container.checkout(CheckoutRequest("alice", (CartItem("MUG", 1),), "stripe"))
        container.provider_calls.open_order(placed.payment.id)

        assert container.gateways == {"stripe": fake}
        assert [call for call, _ in fake.calls] == ["create_order"]
        payment = container.app.load(Payment, placed.payment.id)
        assert payment.status is PaymentStatus.PENDING
        assert placed.order.expires_at == clock.at + timedelta(seconds=600)
    finally:
        container.close()
