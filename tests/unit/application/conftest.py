from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import Checkout
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import PaymentGateway
from application.provider_calls import ProviderCalls
from application.refunds import Refunds
from entrypoints.bootstrap import build_application
from tests.fakes import FakeGateway
from tests.unit.application.purchases import ProviderCallsFor, Purchases


class FrozenClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def app() -> Iterator[CheckoutApplication]:
    application = build_application()  # in memory: no database_url
    yield application
    application.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def checkout(app: CheckoutApplication, clock: FrozenClock) -> Checkout:
    return Checkout(app, clock, timedelta(minutes=30))


@pytest.fixture
def orders(app: CheckoutApplication) -> OrderLifecycle:
    return OrderLifecycle(app)


@pytest.fixture
def payments(app: CheckoutApplication) -> PaymentOutcomes:
    return PaymentOutcomes(app)


@pytest.fixture
def catalog(app: CheckoutApplication) -> Catalog:
    catalog = Catalog(app)
    catalog.upsert(
        [
            CatalogEntry("MUG", "Mug", "vendor-a", 1250, "USD", 5),
            CatalogEntry("TEE", "T-shirt", "vendor-b", 2000, "USD", 2),
            CatalogEntry("CHAI", "Chai", "vendor-c", 19900, "INR", 10),
        ]
    )
    return catalog


@pytest.fixture
def stripe() -> FakeGateway:
    return FakeGateway("stripe")


@pytest.fixture
def razorpay() -> FakeGateway:
    return FakeGateway("razorpay")


@pytest.fixture
def provider_calls_for(app: CheckoutApplication, payments: PaymentOutcomes) -> ProviderCallsFor:
    """What the worker runs, with these gateways configured and no hosted sessions."""

    def build(gateways: Mapping[str, PaymentGateway]) -> ProviderCalls:
        return ProviderCalls(app, gateways, payments=payments, refunds=Refunds(app))

    return build


@pytest.fixture
def gateways(stripe: FakeGateway, razorpay: FakeGateway) -> dict[str, FakeGateway]:
    return {stripe.provider: stripe, razorpay.provider: razorpay}


@pytest.fixture
def provider_calls(
    provider_calls_for: ProviderCallsFor,
    gateways: dict[str, FakeGateway],
) -> ProviderCalls:
    return provider_calls_for(gateways)


@pytest.fixture
def purchases(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    gateways: dict[str, FakeGateway],
) -> Purchases:
    """Alice's purchases from the stocked catalog, through both fake providers."""
    return Purchases(app, checkout, orders, payments, provider_calls, gateways)
