"""What the API needs of the engine: the use cases and queries its routes call, the settings
they read, and the hooks behind /readyz, /metrics and the 503 for a store that is away.

The composition root's Container satisfies ``ApiServices`` as it is (adr/0014); a test may
hand ``create_app`` anything else that does. Nothing here names an adapter, so a route
cannot reach past the use cases to the event store, the SQL engine or a provider's SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from prometheus_client import CollectorRegistry
from starlette.requests import Request

from application.cancellations import CustomerCancellations
from application.catalog import Catalog
from application.checkout import Checkout
from application.checkout_sessions import HostedCheckout
from application.group_commit import CheckoutWriter
from application.manual_captures import ManualCaptures
from application.marks import OrderMarks
from application.parked_webhooks import ParkedWebhooks
from application.payment_proofs import PaymentProofs
from application.ports import DeliveryReception
from application.reconciliation import Resolutions
from application.refunds import Refunds
from projections.queries import OrderQueries, PaymentQueries, ProductQueries, ReviewQueries
from projections.tracking import PositionReader


class ApiSettings(Protocol):
    @property
    def cors_origins(self) -> tuple[str, ...]: ...

    @property
    def rate_limit_per_customer(self) -> str: ...

    @property
    def rate_limit_per_ip(self) -> str: ...

    @property
    def rate_limit_reads_per_ip(self) -> str: ...

    @property
    def razorpay_api_base(self) -> str | None:
        """The Razorpay sandbox, whose test page stands in for checkout.js; None: Razorpay."""
        ...


class ReadinessCheck(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def detail(self) -> str: ...


class AuditDocument(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class OrderHistories(Protocol):
    """An order's whole history, and its state at an instant (infrastructure.audit.history)."""

    def history(
        self, order_id: UUID, at: datetime | None = None, *, evidence: bool = False
    ) -> AuditDocument:
        """Raises OrderNotFound for an unknown order."""
        ...


class AuditExports(Protocol):
    """The audit export's JSON Lines (infrastructure.audit.export)."""

    def lines(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        order_id: UUID | None = None,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Raises OrderNotFound for an unknown order, before the first line."""
        ...


class ApiServices(Protocol):
    @property
    def settings(self) -> ApiSettings: ...

    @property
    def jwt_secret(self) -> str:
        """The HS256 key bearer tokens are signed with."""
        ...

    # -- the use cases ------------------------------------------------------------------

    @property
    def checkout(self) -> Checkout: ...

    @property
    def checkout_writer(self) -> CheckoutWriter:
        """Checkouts of this process, committed in batches (adr/0019)."""
        ...

    @property
    def cancellations(self) -> CustomerCancellations: ...

    @property
    def payment_proofs(self) -> PaymentProofs: ...

    @property
    def hosted_checkout(self) -> HostedCheckout: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def refunds(self) -> Refunds: ...

    @property
    def manual_captures(self) -> ManualCaptures: ...

    @property
    def marks(self) -> OrderMarks: ...

    @property
    def webhooks(self) -> DeliveryReception:
        """Built on first use: it may create the inbox table."""
        ...

    @property
    def parked_webhooks(self) -> ParkedWebhooks:
        """Operators list, replay and dismiss inbox rows (adr/0025)."""
        ...

    # -- the read models ----------------------------------------------------------------

    @property
    def product_queries(self) -> ProductQueries: ...

    @property
    def order_queries(self) -> OrderQueries: ...

    @property
    def payment_queries(self) -> PaymentQueries: ...

    @property
    def review_queries(self) -> ReviewQueries: ...

    @property
    def resolutions(self) -> Resolutions: ...

    def reconciliation_runs(self) -> Sequence[Mapping[str, Any]]:
        """The latest reconciliation runs, newest first (infrastructure.reconciliation)."""
        ...

    @property
    def position_reader(self) -> PositionReader:
        """Built on first use: the first look at the application may connect."""
        ...

    # -- the audit trail (adr/0015) -----------------------------------------------------

    @property
    def order_histories(self) -> OrderHistories: ...

    @property
    def audit_export(self) -> AuditExports: ...

    # -- operations ---------------------------------------------------------------------

    @property
    def readiness_checks(self) -> Sequence[Callable[[], ReadinessCheck]]:
        """Each reports, never raises; /readyz runs them at once, each in a thread."""
        ...

    @property
    def metrics(self) -> CollectorRegistry:
        """Metrics computed from the database when scraped (not this process's counters)."""
        ...

    @property
    def unavailable_errors(self) -> tuple[type[Exception], ...]:
        """What the stores raise when they are away or a lock wait timed out: worth a
        retry (503 with Retry-After), not a bug."""
        ...

    def close(self) -> None: ...


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services
