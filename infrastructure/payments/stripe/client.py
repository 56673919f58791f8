"""Stripe through stripe-python: the only module of the engine that imports ``stripe``.

A payment is one PaymentIntent, created with the payment id as idempotency key: a worker
that crashed between Stripe's answer and recording it gets the same intent back when it
calls again (Stripe keeps keys for 24 hours, far longer than the worker's retries take to
succeed or fail for good). Refunds use the refund id the same way.

The SDK's own retries are off (``max_network_retries=0``): the worker's schedule decides
when to call again, so a call is never repeated behind its back.

``with_evidence`` gives a view of the gateway, or of the hosted sessions (their ``expire``),
that hands each call's parameters and Stripe's raw JSON answer to a sink (adr/0016).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import stripe

from application.ports import (
    CheckoutSession,
    CheckoutSessionRequest,
    CheckoutSessions,
    Evidence,
    EvidenceSink,
    LedgerPayment,
    LedgerRefund,
    PaymentGateway,
    PermanentProviderError,
    ProviderCaptureRequest,
    ProviderCharge,
    ProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
    ProviderRefundStatus,
    TransientProviderError,
)
from application.webhook_deliveries import InvalidSignature, RejectReason
from domain import Provider
from infrastructure.payments.minor_units import STRIPE_UNITS
from infrastructure.payments.stripe.intents import engine_metadata, intent_params

DEFAULT_TIMEOUT = 20.0  # seconds per HTTP call; well under the worker's lease
API_VERSION: str = stripe.api_version  # what the SDK pins; the lean client sends it too
WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's own default: older signatures are replays
REFUND_STATUSES = {
    "succeeded": ProviderRefundStatus.SUCCEEDED,
    "failed": ProviderRefundStatus.FAILED,
    "canceled": ProviderRefundStatus.FAILED,
}  # pending, requires_action: the webhook says how it ends


def stripe_client(
    api_key: str, api_base: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


class _Witness:
    """What one call sent and got, filled in as the call goes."""

    def __init__(self, operation: str, request: dict[str, Any]) -> None:
        self.operation = operation
        self.request = request
        self.object_id: str | None = None
        self.response: dict[str, Any] | None = None

    def answered(self, answer: stripe.StripeObject) -> None:
        self.object_id = getattr(answer, "id", None)
        self.response = _raw(answer)


def _raw(answer: stripe.StripeObject) -> dict[str, Any]:
    """Stripe's JSON as it arrived, where the SDK kept it; else the object as a dict."""
    response = answer.last_response
    if response is not None and response.body:
        try:
            parsed = json.loads(response.body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return answer.to_dict()


class _Witnessing:
    """Hands one Evidence per witnessed call to the view's sink, if it has one."""

    provider = Provider.STRIPE.value
    _sink: EvidenceSink | None = None

    @contextmanager
    def _witnessed(self, operation: str, request: dict[str, Any]) -> Iterator[_Witness]:
        witness = _Witness(operation, request)
        try:
            yield witness
        except ProviderError as exc:
            self._hand_over(witness, exc.reason)
            raise
        self._hand_over(witness, None)

    def _hand_over(self, witness: _Witness, error: str | None) -> None:
        if self._sink is not None:
            self._sink(
                Evidence.of_call(
                    self.provider,
                    witness.operation,
                    witness.object_id,
                    witness.request,
                    witness.response,
                    error,
                )
            )


class StripeGateway(_Witnessing):
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client
        self._sink = None

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        """A view sharing the client, handing one Evidence per call to ``sink``."""
        view = copy.copy(self)
        view._sink = sink
        return view

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        # The lean client (intents.py) sends the very same parameters under the same key.
        params = cast("stripe.params.PaymentIntentCreateParams", intent_params(request))
        key = str(request.payment_id)
        sent = {"params": dict(params), "idempotency_key": key}
        with self._witnessed("create_order", sent) as witness, _translated():
            intent = self._client.v1.payment_intents.create(params, {"idempotency_key": key})
            witness.answered(intent)
        return ProviderOrder(
            gateway_order_id=intent.id,
            gateway_payment_id=intent.id,
            client_secret=intent.client_secret,
        )

    def cancel(self, gateway_order_id: str) -> None:
        """Cancel the PaymentIntent; one already cancelled counts as done."""
        sent = {"payment_intent": gateway_order_id, "cancellation_reason": "abandoned"}
        with self._witnessed("cancel", sent) as witness, _translated():
            witness.object_id = gateway_order_id
            try:
                witness.answered(
                    self._client.v1.payment_intents.cancel(
                        gateway_order_id, {"cancellation_reason": "abandoned"}
                    )
                )
            except stripe.InvalidRequestError as exc:
                if exc.code != "payment_intent_unexpected_state":
                    raise
                intent = self._client.v1.payment_intents.retrieve(gateway_order_id)
                witness.answered(intent)
                status = intent.status
                if status != "canceled":
                    raise PermanentProviderError(
                        f"payment intent {gateway_order_id} is {status}: it cannot be cancelled"
                    ) from None

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        """Refund once per refund id: found by its metadata first, then created with the id as
        idempotency key (Stripe forgets keys after 24 hours; the metadata it keeps)."""
        sent = {
            "refund_id": request.refund_id,
            "payment_id": str(request.payment_id),
            "charge": request.gateway_payment_id,
            "amount": STRIPE_UNITS.to_provider(request.amount, request.currency),
            "currency": request.currency.lower(),
        }
        with self._witnessed("refund", sent) as witness, _translated():
            refund = self._refund_tagged(request)
            if refund is None:
                refund = self._create_refund(request)
            witness.answered(refund)
        status = REFUND_STATUSES.get(refund.status or "", ProviderRefundStatus.PENDING)
        return ProviderRefund(refund.id, status)

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        with _translated():
            intent = self._client.v1.payment_intents.retrieve(gateway_payment_id)
        currency = intent.currency.upper()
        amount = STRIPE_UNITS.from_provider(intent.amount_received or intent.amount, currency)
        return ProviderCharge(
            gateway_payment_id=intent.id,
            gateway_order_id=intent.id,
            amount=amount,
            currency=currency,
            status=intent.status,
            captured=intent.status == "succeeded",
        )

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        """Capture the intent's authorization once per capture id (its idempotency key); a
        repeat after Stripe forgot the key finds the intent captured and answers it."""
        intent_id = request.gateway_payment_id
        amount = STRIPE_UNITS.to_provider(request.amount, request.currency)
        key = f"capture:{request.capture_id}"
        sent = {"payment_intent": intent_id, "amount_to_capture": amount, "idempotency_key": key}
        with self._witnessed("capture", sent) as witness, _translated():
            witness.object_id = intent_id
            try:
                intent = self._client.v1.payment_intents.capture(
                    intent_id, {"amount_to_capture": amount}, {"idempotency_key": key}
                )
            except stripe.InvalidRequestError as exc:
                if exc.code != "payment_intent_unexpected_state":
                    raise
                intent = self._client.v1.payment_intents.retrieve(intent_id)
                if intent.status != "succeeded":
                    witness.answered(intent)
                    raise PermanentProviderError(
                        f"payment intent {intent_id} is {intent.status}: it cannot be captured"
                    ) from None
            witness.answered(intent)
        currency = intent.currency.upper()
        return ProviderCharge(
            gateway_payment_id=intent.id,
            gateway_order_id=intent.id,
            amount=STRIPE_UNITS.from_provider(intent.amount_received or 0, currency),
            currency=currency,
            status=intent.status,
            captured=intent.status == "succeeded",
        )

    def _refund_tagged(self, request: ProviderRefundRequest) -> stripe.Refund | None:
        params: stripe.params.RefundListParams = {"limit": 100}
        if request.gateway_payment_id.startswith("ch_"):
            params["charge"] = request.gateway_payment_id
        else:
            params["payment_intent"] = request.gateway_payment_id
        for refund in self._client.v1.refunds.list(params).auto_paging_iter():
            if refund.metadata and refund.metadata["refundId"] == request.refund_id:
                return refund
        return None

    def _create_refund(self, request: ProviderRefundRequest) -> stripe.Refund:
        params: stripe.params.RefundCreateParams = {
            "amount": STRIPE_UNITS.to_provider(request.amount, request.currency),
            "metadata": {"refundId": request.refund_id, "paymentId": str(request.payment_id)},
        }
        # A payment is known by its PaymentIntent; a charge id works too (older records).
        if request.gateway_payment_id.startswith("ch_"):
            params["charge"] = request.gateway_payment_id
        else:
            params["payment_intent"] = request.gateway_payment_id
        return self._client.v1.refunds.create(params, {"idempotency_key": request.refund_id})


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


class StripeLedger:
    """Stripe's PaymentIntents of a window and their refunds, for reconciliation."""

    provider = Provider.STRIPE.value

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def payments(self, since: datetime, until: datetime) -> list[LedgerPayment]:
        params: stripe.params.PaymentIntentListParams = {
            "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())},
            "limit": 100,
        }
        with _translated():
            intents = list(self._client.v1.payment_intents.list(params).auto_paging_iter())
            return [self._entry(intent) for intent in intents]

    def payment(self, gateway_payment_id: str) -> LedgerPayment | None:
        with _translated():
            try:
                intent = self._client.v1.payment_intents.retrieve(gateway_payment_id)
            except stripe.InvalidRequestError as exc:
                if exc.code == "resource_missing":
                    return None
                raise
            return self._entry(intent)

    def _entry(self, intent: stripe.PaymentIntent) -> LedgerPayment:
        currency = intent.currency.upper()
        captured = intent.status == "succeeded"
        authorized = intent.status == "requires_capture"
        if captured:
            provider_amount = intent.amount_received or 0
        elif authorized:
            provider_amount = intent.amount_capturable or 0
        else:
            provider_amount = intent.amount
        metadata = intent.metadata.to_dict() if intent.metadata else {}
        refunds: tuple[LedgerRefund, ...] = ()
        if captured:
            listed = self._client.v1.refunds.list({"payment_intent": intent.id, "limit": 100})
            refunds = tuple(
                LedgerRefund(
                    refund.id,
                    STRIPE_UNITS.from_provider(refund.amount, currency),
                    REFUND_STATUSES.get(refund.status or "", ProviderRefundStatus.PENDING).value,
                    (refund.metadata.to_dict() if refund.metadata else {}).get("refundId"),
                )
                for refund in listed.auto_paging_iter()
            )
        return LedgerPayment(
            gateway_payment_id=intent.id,
            gateway_order_id=intent.id,
            engine_payment_id=_uuid(metadata.get("paymentId")),  # server-set (adr/0009)
            amount=STRIPE_UNITS.from_provider(provider_amount, currency),
            currency=currency,
            status=intent.status,
            captured=captured,
            authorized=authorized,
            refunds=refunds,
        )


class StripeCheckoutSessions(_Witnessing):
    """Hosted Checkout pages; Stripe creates their PaymentIntent when the customer pays."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client
        self._sink = None

    def with_evidence(self, sink: EvidenceSink) -> CheckoutSessions:
        """A view sharing the client, handing one Evidence per ``expire`` to ``sink``."""
        view = copy.copy(self)
        view._sink = sink
        return view

    def create(self, request: CheckoutSessionRequest) -> CheckoutSession:
        currency = request.currency.lower()
        metadata = engine_metadata(request.order_id, request.payment_id, request.customer_id)
        line_items: list[stripe.params.checkout.SessionCreateParamsLineItem] = [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": STRIPE_UNITS.to_provider(line.unit_amount, request.currency),
                    "product_data": {"name": line.name},
                },
                "quantity": line.quantity,
            }
            for line in request.lines
        ]
        params: stripe.params.checkout.SessionCreateParams = {
            "mode": "payment",
            "line_items": line_items,
            "client_reference_id": str(request.order_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at,
        }
        if request.capture == "manual":
            # The page's own intent only authorizes, as the engine's would (adr/0027).
            params["payment_intent_data"] = {"metadata": metadata, "capture_method": "manual"}
        key = f"{request.payment_id}:session:{request.attempt}"
        with _translated():
            session = self._client.v1.checkout.sessions.create(params, {"idempotency_key": key})
        if session.url is None:
            raise PermanentProviderError(f"checkout session {session.id} has no payment page")
        return CheckoutSession(session.url, session.id, session.expires_at)

    def expire(self, session_id: str) -> str:
        """Expire an open session; one that is complete or expired already says so."""
        with self._witnessed("expire_session", {"session": session_id}) as witness, _translated():
            witness.object_id = session_id
            try:
                session = self._client.v1.checkout.sessions.expire(session_id)
            except stripe.InvalidRequestError:
                session = self._client.v1.checkout.sessions.retrieve(session_id)
                witness.answered(session)  # closed already: what Stripe says it is
                if session.status == "open":
                    raise
            else:
                witness.answered(session)
        return str(session.status)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        raise translate(exc) from None


def translate(exc: stripe.StripeError) -> ProviderError:
    """Connection trouble, 409 (a concurrent request with the same key), 429, 5xx: transient."""
    status = exc.http_status
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError) or status is None:
        return TransientProviderError(f"stripe unreachable: {message}")
    if status in (409, 429) or status >= 500:
        return TransientProviderError(f"stripe answered {status}: {message}")
    return PermanentProviderError(message)


def verify_webhook(
    payload: bytes,
    signature_header: str | None,
    secret: str,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> None:
    """Raise InvalidSignature unless Stripe signed exactly these bytes, recently enough.

    ``Stripe-Signature`` is ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``;
    the SDK compares in constant time and refuses a ``t`` older than ``tolerance``.
    """
    if not signature_header:
        raise InvalidSignature(RejectReason.MISSING, "no Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance)
    except UnicodeDecodeError:
        raise InvalidSignature(RejectReason.MALFORMED, "the body is not UTF-8") from None
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(_refusal(payload, signature_header, secret), str(exc)) from None


def _refusal(payload: bytes, signature_header: str, secret: str) -> RejectReason:
    """Stale if the signature is right but old; invalid otherwise."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret)
    except stripe.SignatureVerificationError:
        return RejectReason.INVALID
    return RejectReason.STALE
