"""The composition root: builds every collaborator from settings. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import Checkout
from application.checkout_sessions import HostedCheckout
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import CheckoutSessions, Clock, PaymentGateway, SystemClock
from application.refunds import Refunds
from infrastructure.database import DatabaseAddress, schema_lock
from infrastructure.settings import Settings
from projections.queries import OrderQueries, PaymentQueries, ProductQueries, ReviewQueries

if TYPE_CHECKING:  # the SDKs load when webhooks are first needed, not at import
    from infrastructure.webhooks.reception import WebhookReception


IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def build_application(
    database_url: str | None = None, *, pool_size: int = 10
) -> CheckoutApplication:
    """The engine's Application: on PostgreSQL at ``database_url``, or in memory when None.

    Creating the events tables takes the schema lock, so processes starting together on an
    empty database do not race to create them.
    """
    if database_url is None:
        return CheckoutApplication(env=IN_MEMORY)
    address = DatabaseAddress.parse(database_url)
    with schema_lock(address):
        return CheckoutApplication(env=address.eventsourcing_env(pool_size=pool_size))


@dataclass(frozen=True)
class Services:
    """Where the running services are, after embedded ones have been started."""

    database_url: str
    bootstrap_servers: str
    jwt_secret: str

    @classmethod
    def from_settings(cls, settings: Settings, *, jwt: bool = True) -> Services:
        settings.require_services(jwt=jwt)
        assert settings.database_url
        assert settings.kafka_bootstrap_servers
        return cls(
            settings.database_url,
            settings.kafka_bootstrap_servers,
            settings.checkout_jwt_secret or "",
        )


@dataclass
class Container:
    settings: Settings
    services: Services
    clock: Clock = field(default_factory=SystemClock)
    pool_size: int = 10
    _db: Engine | None = field(default=None, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)

    @property
    def database(self) -> DatabaseAddress:
        return DatabaseAddress.parse(self.services.database_url)

    @property
    def db(self) -> Engine:
        if self._db is None:
            self._db = self.database.sqlalchemy_engine(pool_size=self.pool_size)
        return self._db

    @cached_property
    def app(self) -> CheckoutApplication:
        app = build_application(self.services.database_url, pool_size=self.pool_size)
        self._closers.append(app.close)
        return app

    @cached_property
    def checkout(self) -> Checkout:
        ttl = timedelta(seconds=self.settings.payment_ttl_seconds)
        return Checkout(self.app, self.clock, ttl)

    @cached_property
    def orders(self) -> OrderLifecycle:
        return OrderLifecycle(self.app)

    @cached_property
    def payments(self) -> PaymentOutcomes:
        return PaymentOutcomes(self.app)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.app)

    @cached_property
    def refunds(self) -> Refunds:
        return Refunds(self.app)

    @cached_property
    def gateways(self) -> dict[str, PaymentGateway]:
        """Payment providers with credentials in the settings (possibly none)."""
        from infrastructure.payments.gateways import gateways_from_settings

        return gateways_from_settings(self.settings)

    @cached_property
    def checkout_sessions(self) -> CheckoutSessions | None:
        """Stripe's hosted Checkout; None when Stripe is not configured."""
        from infrastructure.payments.gateways import checkout_sessions_from_settings

        return checkout_sessions_from_settings(self.settings)

    @cached_property
    def hosted_checkout(self) -> HostedCheckout:
        return HostedCheckout(self.app, self.checkout_sessions, self.clock)

    @cached_property
    def webhooks(self) -> WebhookReception:
        """Verifies, records (creating the inbox table if missing) and applies webhooks."""
        from infrastructure.webhooks.reception import webhook_reception

        return webhook_reception(self.app, self.db, self.settings)

    @cached_property
    def metrics(self) -> CollectorRegistry:
        """Metrics computed from the database when scraped (not this process's counters)."""
        from infrastructure.followers import FollowerCollector
        from infrastructure.relay import RelayBacklogCollector
        from infrastructure.webhooks.metrics import CaptureReviewCollector, WebhookInboxCollector
        from infrastructure.worker.metrics import ProviderTasksCollector

        registry = CollectorRegistry(auto_describe=False)
        registry.register(RelayBacklogCollector(self.app, self.db))
        registry.register(ProviderTasksCollector(self.db))
        registry.register(WebhookInboxCollector(self.db))
        registry.register(CaptureReviewCollector(self.db))
        registry.register(FollowerCollector(self.db))
        return registry

    @cached_property
    def product_queries(self) -> ProductQueries:
        return ProductQueries(self.db)

    @cached_property
    def order_queries(self) -> OrderQueries:
        return OrderQueries(self.db)

    @cached_property
    def payment_queries(self) -> PaymentQueries:
        return PaymentQueries(self.db)

    @cached_property
    def review_queries(self) -> ReviewQueries:
        return ReviewQueries(self.db)

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        if self._db is not None:
            self._db.dispose()
            self._db = None


def build_container(settings: Settings, services: Services) -> Container:
    return Container(settings=settings, services=services)
