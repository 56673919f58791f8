"""Request and response bodies of the HTTP API, as pydantic models.

The same models validate requests, render responses and generate /openapi.json, so the
documented contract cannot drift from the enforced one. JSON is camelCase; Python is
snake_case. Request models are strict (a quantity must be a JSON integer, never "2", 2.5
or true) and refuse unknown fields. Business rules (empty cart, quantity range, unknown
sku) are deliberately not schema rules: the domain answers those with 422.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    RootModel,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from application.catalog import CatalogEntry
from domain import OrderStatus, PaymentStatus, Provider, bounds
from domain.money import MAX_MINOR_UNITS
from projections.documents import rfc3339

OrderStatusName = Literal[
    "PENDING_PAYMENT", "PAYMENT_CONFIRMED", "CANCELLED", "PARTIALLY_REFUNDED", "REFUNDED"
]
ProviderName = Literal["stripe", "razorpay"]

# Visible ASCII only: keys travel in headers and end up in logs.
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
]
IDEMPOTENCY_KEY = TypeAdapter(IdempotencyKey)


# UTC with a Z, whether the value comes from an aggregate or from a view.
Timestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
LogPosition = Annotated[int, Field(ge=0)]
LOG_POSITION = TypeAdapter(LogPosition)


class RequestModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, validate_by_name=False
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        serialize_by_alias=True,
        # Nullable fields are always present in responses: document them as required.
        json_schema_serialization_defaults_required=True,
    )


class QueryModel(BaseModel):
    """Query strings are text: numbers are converted, unknown parameters are ignored."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, validate_by_name=False)


# --- requests ---------------------------------------------------------------------------


def _bounded(**schema: Any) -> Any:
    """Bounds the domain enforces with a 422 naming the field; stated here for clients."""
    return Field(json_schema_extra=schema)


def _text(limit: int) -> Any:
    return _bounded(maxLength=limit, pattern=bounds.TEXT_PATTERN)


class CartItemIn(RequestModel):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    quantity: Annotated[int, _bounded(minimum=1, maximum=bounds.MAX_LINE_QUANTITY)]


class CheckoutBody(RequestModel):
    """POST /checkout. An empty `items` list is valid JSON here and a 422 from the domain;
    so are the bounds below (422 naming the field): at most 100 lines of at most 1,000
    units, and an order total of at most 99,999,999 minor units."""

    items: Annotated[list[CartItemIn], _bounded(maxItems=bounds.MAX_LINES)]
    provider: ProviderName
    capture: Literal["automatic", "manual"] | None = Field(
        default=None,
        description=(
            "`manual`: the provider only authorizes the payment (status `authorized`); an "
            "operator captures it (POST /admin/orders/{orderId}/capture) or voids it, and "
            "the order is confirmed, and published, only once captured. Left out: manual "
            "when a line's vendor or sku is configured so (MANUAL_CAPTURE_VENDORS, "
            "MANUAL_CAPTURE_SKUS), else automatic."
        ),
    )


class ProductIn(RequestModel):
    """A catalog entry; values outside the stated bounds are a 422 naming the field."""

    sku: Annotated[str, _text(bounds.MAX_SKU)]
    name: Annotated[str, _text(bounds.MAX_NAME)]
    vendor_id: Annotated[str, _text(bounds.MAX_VENDOR_ID)]
    unit_amount: Annotated[int, _bounded(minimum=0, maximum=bounds.MAX_TOTAL)]
    currency: str
    stock: Annotated[int, _bounded(minimum=0, maximum=bounds.MAX_STOCK)]
    active: bool = True

    def entry(self) -> CatalogEntry:
        """The application's command for this product (the domain checks its values)."""
        return CatalogEntry(
            sku=self.sku,
            name=self.name,
            vendor_id=self.vendor_id,
            unit_amount=self.unit_amount,
            currency=self.currency,
            stock=self.stock,
            active=self.active,
        )


def _one_or_many(value: object) -> str:
    return "many" if isinstance(value, list) else "one"


class ProductUpload(RootModel[list[ProductIn] | ProductIn]):
    """POST /admin/products: one product, or a list of them (the catalog file format)."""

    model_config = ConfigDict(strict=True)
    root: Annotated[
        Annotated[list[ProductIn], Tag("many")] | Annotated[ProductIn, Tag("one")],
        Discriminator(_one_or_many),
    ]

    def entries(self) -> list[ProductIn]:
        return self.root if isinstance(self.root, list) else [self.root]


class ReadQuery(QueryModel):
    min_position: LogPosition | None = None


def _in_utc(moment: datetime) -> datetime:
    # An instant a day's offset from year 1 or 9999 has no UTC form: 400, not a 500.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


# RFC 3339: a date, a time and an offset (`Z` or `+05:30`); a naive time is refused.
SearchInstant = Annotated[
    AwareDatetime,
    AfterValidator(_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-21T00:00:00Z"]}),
]
# A provider's ids are visible ASCII (`pi_3Q...`, `order_P...`, `pay_P...`).
GatewayRef = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
]
CustomerId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=bounds.MAX_CUSTOMER_ID, pattern=bounds.TEXT_PATTERN),
]


class AdminOrdersQuery(QueryModel):
    """GET /admin/orders: every filter given narrows the list (they combine with AND)."""

    status: OrderStatusName | None = None
    provider: ProviderName | None = None
    order: UUID | None = Field(None, description="Exactly this order")
    customer: CustomerId | None = Field(None, description="Exactly this customer's orders")
    gateway_ref: GatewayRef | None = Field(
        None,
        description=(
            "A provider's id of the payment: Stripe's PaymentIntent (`pi_...`), Razorpay's "
            "order (`order_...`) or captured payment (`pay_...`)"
        ),
    )
    created_from: SearchInstant | None = Field(None, description="Placed at or after (RFC 3339)")
    created_to: SearchInstant | None = Field(None, description="Placed before (RFC 3339)")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    min_position: LogPosition | None = None

    @field_validator("created_to")
    @classmethod
    def _after_from(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("created_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be later than createdFrom")
        return value


class CustomerOrdersQuery(QueryModel):
    """GET /orders: the caller's own orders, a page at a time."""

    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    min_position: LogPosition | None = None


ReviewKind = Literal[
    "foreign",
    "duplicate",
    "mismatch",
    "missed_capture",
    "missed_authorization",
    "amount_mismatch",
    "not_captured_at_provider",
    "refund_only_at_provider",
    "refund_only_here",
    "extra_authorization",
]


class ReviewsQuery(QueryModel):
    kind: ReviewKind | None = None
    status: Literal["open", "repaired", "resolved", "refunding"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    min_position: LogPosition | None = None


WebhookStatusName = Literal["received", "processed", "ignored", "failed", "dismissed"]


class WebhooksQuery(QueryModel):
    """GET /admin/webhooks: inbox rows, newest first."""

    status: Literal["pending", "failed", "dismissed"] | None = Field(
        default=None,
        description=(
            "`pending`: `received`, not applied yet (the API or the sweeper will); `failed`: "
            "the last try raised, retried at `nextAttemptAt` or, when that is null, parked "
            "for a person; `dismissed`: a person decided it is never applied. None: all."
        ),
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None


OperatorReason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
    _bounded(description="No control characters (422 otherwise)."),
]


class WebhookReplayBody(RequestModel):
    """POST /admin/webhooks/{webhookId}/replay: `{}`, or why (kept on record)."""

    reason: OperatorReason | None = None


class WebhookDismissBody(RequestModel):
    """POST /admin/webhooks/{webhookId}/dismiss: why the event is never to be applied."""

    reason: OperatorReason


class RazorpayPaymentProof(BaseModel):
    """POST /orders/{orderId}/payments/verify: checkout.js's handler argument, as it is.

    The one request body in snake_case, because checkout.js names these fields.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    razorpay_order_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    razorpay_payment_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    razorpay_signature: Annotated[str, StringConstraints(min_length=1, max_length=256)]


RedirectUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class CheckoutSessionBody(RequestModel):
    """Where Stripe sends the customer back; an origin of CORS_ORIGINS or the API's own."""

    success_url: RedirectUrl | None = None
    cancel_url: RedirectUrl | None = None


class CaptureBody(RequestModel):
    """POST /admin/orders/{orderId}/capture; without `amount`, the whole authorization. Less
    than it is a partial capture (Stripe): the rest is released to the customer."""

    amount: Annotated[int, Field(ge=1, le=MAX_MINOR_UNITS)] | None = None
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
        _bounded(description="No control characters (422 otherwise)."),
    ]


class VoidBody(RequestModel):
    """POST /admin/orders/{orderId}/void: release the authorization and cancel the order."""

    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
        _bounded(description="No control characters (422 otherwise)."),
    ]


class RefundBody(RequestModel):
    """POST /admin/orders/{orderId}/refunds; without `amount`, all that is still refundable."""

    amount: Annotated[int, Field(ge=1, le=MAX_MINOR_UNITS)] | None = None
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
        _bounded(description="No control characters (422 otherwise)."),
    ]


# --- responses --------------------------------------------------------------------------


class LineOut(ResponseModel):
    sku: str
    quantity: int
    unit_amount: int
    vendor_id: str


class CheckoutPayment(ResponseModel):
    payment_id: UUID
    provider: Provider
    status: Literal["processing"]


class CheckoutCreated(ResponseModel):
    order_id: UUID
    status: Literal["PENDING_PAYMENT"]
    amount: int
    currency: str
    lines: list[LineOut]
    payment: CheckoutPayment


class OrderPayment(ResponseModel):
    payment_id: UUID
    provider: Provider
    status: PaymentStatus


class OrderOut(ResponseModel):
    order_id: UUID
    status: OrderStatus
    amount: int
    currency: str
    lines: list[LineOut]
    created_at: Timestamp
    updated_at: Timestamp
    payment: OrderPayment


class AdminOrder(OrderOut):
    customer_id: str


class OrderPage(ResponseModel):
    items: list[AdminOrder]
    next_cursor: str | None


class CustomerOrderPage(ResponseModel):
    """GET /orders: orders as GET /orders/{orderId} shows them, newest first."""

    items: list[OrderOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class PaymentMetadata(ResponseModel):
    stripe_client_secret: str | None = None


class DisputeOut(ResponseModel):
    """A chargeback: the customer asked their bank for the money back."""

    dispute_id: str
    status: str = Field(description="`open`, then the provider's outcome: `won`, `lost`, ...")
    amount: int
    currency: str
    reason: str | None = None
    opened_at: Timestamp
    updated_at: Timestamp


PAYMENT_STATUSES = """Payment statuses and their transitions (terminal: `refunded`, `canceled`):
- `processing`: the provider order/intent is not created yet -> `pending`, `failed`
  (the provider refused to create it), `canceled`;
- `pending`: the customer can pay -> `succeeded`, `authorized` (manual capture), `failed`,
  `canceled`;
- `authorized` (manual capture): the provider holds the money until an operator captures
  it -> `succeeded` (the amount captured; a partial capture releases the rest) or voids it
  -> `canceled`; the engine voids it itself a day before the provider would let it lapse;
- `failed`: the last attempt was declined (`failureReason` says why); the customer may
  retry until the order is cancelled or expires -> `succeeded`, `failed`, `canceled`;
- `succeeded`: captured, amount and currency checked -> `partially_refunded`, `refunded`;
- `partially_refunded` -> `partially_refunded`, `refunded`;
- `refunded`: everything captured went back;
- `canceled`: the order was cancelled or expired unpaid (`failureReason` says why). Money
  that still arrives is recorded as a late capture and refunded: -> `succeeded` ->
  `refunded`.
Poll until `succeeded`, `refunded`, `canceled` (or, for a retry, `failed`). A second charge
or one of the wrong amount never changes the status: it is refunded (see GET
/admin/reviews)."""


class PaymentOut(ResponseModel):
    order_id: UUID
    payment_id: UUID
    status: PaymentStatus = Field(description=PAYMENT_STATUSES)
    provider: Provider
    amount: int
    currency: str
    gateway_order_id: str | None = None
    gateway_payment_id: str | None = None
    metadata: PaymentMetadata = PaymentMetadata()
    razorpay_key_id: str | None = None
    refunded_amount: int
    captured_amount: int | None = Field(
        None,
        description=(
            "What the provider captured, once it has: less than `amount` after a partial "
            "manual capture (the rest was released); null before"
        ),
    )
    failure_reason: str | None = None
    updated_at: Timestamp | None = None
    disputes: list[DisputeOut] = Field(
        default=[], description="Chargebacks of this payment, oldest first"
    )


class RefundOut(ResponseModel):
    refund_id: str
    amount: int
    currency: str | None
    kind: Literal["requested", "late", "duplicate", "mismatch", "external"] = Field(
        description=(
            "`requested` by an admin; `late`: paid after the order ended; `duplicate`: a "
            "second charge; `mismatch`: a charge of the wrong amount or currency; "
            "`external`: made in the provider's dashboard"
        )
    )
    reason: str | None
    actor: str = Field(description="`admin:<sub>`, `system`, or `unknown` for old records")
    status: Literal["pending", "succeeded", "failed"]
    failure_reason: str | None = None
    gateway_refund_id: str | None = None
    gateway_payment_id: str | None = Field(None, description="The charge refunded")
    requested_at: Timestamp
    updated_at: Timestamp


class RefundList(ResponseModel):
    order_id: UUID
    items: list[RefundOut]


class CaptureReview(ResponseModel):
    """Money a provider captured that paid for no order."""

    review_id: str
    kind: ReviewKind = Field(
        description=(
            "`duplicate`: a second charge for a paid order; `mismatch`: a charge of the wrong "
            "amount or currency (both refunded automatically); `foreign`: matches no engine "
            "payment (nothing confirmed, nothing refunded: a person decides). Found by "
            "reconciliation: `missed_capture`, `missed_authorization`, "
            "`refund_only_at_provider` (repaired automatically); `amount_mismatch`, "
            "`not_captured_at_provider`, `refund_only_here` (for a person)."
        )
    )
    provider: Provider
    gateway_payment_id: str
    gateway_order_id: str | None = None
    amount: int = Field(description="In the currency's minor units (foreign: as the provider sent)")
    currency: str
    order_id: UUID | None = None
    payment_id: UUID | None = None
    detail: str
    refund_id: str | None = None
    refund_status: Literal["pending", "succeeded", "failed"] | None = None
    recorded_at: Timestamp
    updated_at: Timestamp
    status: Literal["open", "repaired", "resolved", "refunding"] = Field(
        description=(
            "`open`: waits for a person (resolve it with a reason); `repaired`: done "
            "automatically; `resolved`: a person decided; `refunding`: refunded automatically"
        )
    )
    discrepancy_id: str | None = None
    repair: str | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    resolved_at: Timestamp | None = None


class ResolveBody(RequestModel):
    """POST /admin/reviews/{reviewId}/resolve: what the person decided, and why."""

    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
        _bounded(description="No control characters (422 otherwise)."),
    ]


class ReconciliationRunOut(ResponseModel):
    run_id: str
    provider: Provider
    status: Literal["running", "completed", "partial"]
    window_start: Timestamp
    window_end: Timestamp
    actor: str
    compared: int
    discrepancies: dict[str, int] = Field(description="Discrepancies found, by kind")
    repairs: int
    error: str | None = None
    started_at: Timestamp
    finished_at: Timestamp | None = None


class ReconciliationRunPage(ResponseModel):
    items: list[ReconciliationRunOut]


class ReviewPage(ResponseModel):
    items: list[CaptureReview]


class PaymentVerified(ResponseModel):
    verified: Literal[True]
    status: PaymentStatus


class CheckoutSessionOut(ResponseModel):
    checkout_url: str
    session_id: str


class RefundAccepted(ResponseModel):
    refund_id: str
    order_id: UUID
    amount: int
    status: Literal["pending"]


class MarkBody(RequestModel):
    """POST /admin/orders/{orderId}/marks: an operator's decision on the order, on record."""

    mark: Literal["note", "fulfilled_manually", "hold", "release", "paid_out_of_band"] = Field(
        description=(
            "`note`, `fulfilled_manually`: recorded, nothing else changes; `hold`: no capture "
            "while held, published on orders.held; `release`: ends the hold; "
            "`paid_out_of_band`: an unpaid order was paid outside the providers (needs "
            "`evidence`): it is confirmed and OrderConfirmed published, and the provider's "
            "objects are closed"
        )
    )
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=bounds.MAX_REASON, pattern=r"\S"),
        _bounded(description="No control characters (422 otherwise)."),
    ]
    evidence: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=200, pattern=r"\S"),
            _bounded(description="What proves it, e.g. a bank transfer's reference."),
        ]
        | None
    ) = None


class MarkOut(ResponseModel):
    mark_id: str
    order_id: UUID
    mark: str


class CaptureAccepted(ResponseModel):
    capture_id: str
    order_id: UUID
    amount: int
    status: Literal["pending"]


class VoidAccepted(ResponseModel):
    order_id: UUID
    status: Literal["CANCELLED"]


class WebhookReceipt(ResponseModel):
    """Any 2xx tells the provider to stop redelivering; the rest is for people reading logs."""

    received: Literal[True]
    duplicate: bool
    status: WebhookStatusName  # a redelivery answers the row's status: dismissed too


class WebhookDecisionOut(ResponseModel):
    """An operator's act on an inbox row (adr/0025)."""

    by: str = Field(description="The actor: `admin:<sub>` (API) or `cli:<login>` (CLI)")
    reason: str | None
    at: Timestamp


class WebhookOut(ResponseModel):
    """One webhook inbox row: a verified provider event and how applying it went."""

    webhook_id: int
    provider: Provider
    event_id: str
    event_type: str
    status: WebhookStatusName
    attempts: int = Field(description="Tries so far, replays included")
    error: str | None = Field(description="What the last failed try raised")
    outcome: str | None = Field(description="What applying it did, once applied")
    received_at: Timestamp
    next_attempt_at: Timestamp | None = Field(
        description="When the sweeper tries a failed row again; null: parked, or settled"
    )
    body: str = Field(description="The raw body as the provider sent it, as UTF-8 text")
    dismissed: WebhookDecisionOut | None
    replayed: WebhookDecisionOut | None = Field(description="The last replay")


class WebhookPage(ResponseModel):
    items: list[WebhookOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class ProductOut(ResponseModel):
    sku: str
    name: str
    vendor_id: str
    unit_amount: int
    currency: str
    available: int


class ProductList(ResponseModel):
    items: list[ProductOut]


class CatalogUpserted(ResponseModel):
    created: int
    updated: int
    unchanged: int


class StockChangeBody(RequestModel):
    """Exactly one of: `delta` units delivered (added to on hand), or the units `available`
    to buy on top of what open orders hold (units already sold stay sold)."""

    delta: Annotated[int, _bounded(minimum=1, maximum=bounds.MAX_STOCK)] | None = None
    available: Annotated[int, _bounded(minimum=0, maximum=bounds.MAX_STOCK)] | None = None


class StockOut(ResponseModel):
    sku: str
    on_hand: int
    available: int


class FieldError(ResponseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    field: str
    message: str
    sku: str | None = None


class ProblemDetails(ResponseModel):
    """RFC 9457 problem details; every error response has this shape."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = []


# --- the audit trail (adr/0015) -----------------------------------------------------------

Instant = Annotated[
    AwareDatetime,
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-21T14:02:00Z"]}),
]


class OrderHistoryQuery(QueryModel):
    at: Instant | None = Field(
        None, description="Also the order and payment as their events left them then"
    )
    evidence: bool = Field(False, description="Include the providers' raw payloads")


class AuditExportQuery(QueryModel):
    since: Instant | None = None
    until: Instant | None = None
    order: UUID | None = Field(None, description="Only this order's events")


class HistoryEntryOut(ResponseModel):
    time: Timestamp
    kind: Literal["event", "webhook", "provider_call", "publication"]
    name: str = Field(description="The event's class (`Payment.RefundRequested`), or what it was")
    actor: str = Field(
        description="`admin:<sub>`, `customer:<sub>`, `system`, `provider:<name>`, `worker`, "
        "`relay`, or `unknown` for events recorded before actors were"
    )
    summary: str
    stream: Literal["order", "payment", "stock"] | None
    originator_id: UUID | None
    version: int | None = Field(description="The aggregate's version after the event")
    position: int | None = Field(description="The event's notification id in the log")
    evidence: list[str] = Field(description="SHA-256 digests of the evidence it refers to")
    data: dict[str, Any] = Field(description="The raw form: the event's fields, or the row's")


class EvidenceOut(ResponseModel):
    digest: str
    kind: Literal["webhook", "provider_call"]
    provider: str
    object_id: str | None
    recorded_at: Timestamp
    body: str


class OrderStateOut(ResponseModel):
    order_id: UUID
    version: int
    status: OrderStatusName
    customer_id: str
    amount: int
    currency: str
    refunded_total: int
    lines: list[dict[str, Any]]
    cancel_reason: str | None
    disputes: dict[str, str]
    updated_at: Timestamp


class PaymentStateOut(ResponseModel):
    payment_id: UUID
    version: int
    status: PaymentStatus
    provider: Provider
    amount: int
    currency: str
    captured_amount: int
    refunded_amount: int
    gateway_order_id: str | None
    gateway_payment_id: str | None
    failure_reason: str | None
    refunds: dict[str, dict[str, Any]]
    updated_at: Timestamp


class StateAtOut(ResponseModel):
    """Rebuilt from the events up to ``at``; ``existed`` is false before the order was placed."""

    at: Timestamp
    existed: bool
    order: OrderStateOut | None
    payment: PaymentStateOut | None


class OrderHistoryOut(ResponseModel):
    order_id: UUID
    payment_id: UUID | None
    entries: list[HistoryEntryOut] = Field(description="Everything about the order, in time order")
    evidence: list[EvidenceOut]
    state: StateAtOut | None
