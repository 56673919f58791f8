from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import Checkout
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes


class FrozenClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def app() -> Iterator[CheckoutApplication]:
    application = CheckoutApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
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
