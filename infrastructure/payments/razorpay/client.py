"""Razorpay through razorpay-python: the only module of the engine that imports ``razorpay``.

Razorpay takes no idempotency key for orders, so a repeated create is made safe by looking
first: an order carries the payment id as its ``receipt`` and is found by it before one is
created. A refund carries the refund id in its ``notes`` (and receipt) and is looked for
among the payment's refunds too, but looking is not enough there: a worker killed in the
middle of a call may leave it in flight at Razorpay while its task passes to another one,
whose look finds nothing yet (the chaos suite refunded twice that way). So refunds also send
the refund id as Razorpay's ``X-Refund-Idempotency`` key: the same key and request give the
same refund, and a retry that arrives while the first is processed gets a 409, retried.

The SDK cannot tell a 429 from a 400 (both say BAD_REQUEST_ERROR) and prints to stdout on
connection errors, so the HTTP session it is given classifies those answers first.

``with_evidence`` gives a view of the gateway that hands each call's parameters and
Razorpay's JSON answer to a sink (adr/0016).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError

from application.ports import (
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
from domain import DomainError, Provider
from infrastructure.payments.minor_units import RAZORPAY_UNITS
from infrastructure.payments.razorpay.orders import earliest_with_receipt, order_data

DEFAULT_TIMEOUT = 20.0  # seconds per HTTP call; well under the worker's lease
RECEIPT_LIMIT = 40  # characters Razorpay accepts in a receipt
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")  # what X-Refund-Idempotency takes
REFUND_STATUSES = {
    "processed": ProviderRefundStatus.SUCCEEDED,
    "failed": ProviderRefundStatus.FAILED,
}  # pending: the refund.processed / refund.failed webhook says how it ends
Entity = dict[str, Any]


class ClassifyingSession(requests.Session):
    """A timeout on every call; no answer, 409, 429 and 5xx become TransientProviderError."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            raise TransientProviderError(f"razorpay unreachable: {exc}") from None
        status = response.status_code
        # 409: a request with the same idempotency key is still being processed; try again.
        if status in (409, 429) or status >= 500:
            raise TransientProviderError(f"razorpay answered {status}: {_description(response)}")
        return response


def razorpay_client(
    key_id: str, key_secret: str, api_base: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Any:
    options = {"base_url": api_base} if api_base else {}
    return razorpay.Client(
        session=ClassifyingSession(timeout), auth=(key_id, key_secret), **options
    )


class RazorpayGateway:
    provider = Provider.RAZORPAY.value

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id
        self._sink: EvidenceSink | None = None

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        """A view sharing the client, handing one Evidence per call to ``sink``."""
        view = copy.copy(self)
        view._sink = sink
        return view

    @contextmanager
    def _witnessed(self, operation: str, sent: Entity) -> Iterator[Entity]:
        """``answer`` collects what Razorpay answered: its entity under ``response``."""
        answer: Entity = {}
        try:
            yield answer
        except ProviderError as exc:
            self._hand_over(operation, sent, answer, exc.reason)
            raise
        self._hand_over(operation, sent, answer, None)

    def _hand_over(self, operation: str, sent: Entity, answer: Entity, error: str | None) -> None:
        if self._sink is None:
            return
        response = answer.get("response")
        object_id = response.get("id") if isinstance(response, dict) else None
        self._sink(
            Evidence.of_call(
                self.provider,
                operation,
                str(object_id) if object_id else None,
                sent,
                response if isinstance(response, dict) else None,
                error,
            )
        )

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        # The lean client (orders.py) sends the same order; this path always looks first.
        data = order_data(request)
        with self._witnessed("create_order", data) as answer, _translated():
            order = self._order_with_receipt(data["receipt"])
            if order is None:
                order = self._client.order.create(data)
            answer["response"] = dict(order)
        return ProviderOrder(gateway_order_id=str(order["id"]), key_id=self._key_id)

    def _order_with_receipt(self, receipt: str) -> Entity | None:
        found = self._client.order.all({"receipt": receipt, "count": 100})
        return earliest_with_receipt(found, receipt)

    def cancel(self, gateway_order_id: str) -> None:
        """Nothing to do: Razorpay has no API to cancel an order.

        An unpaid order stays ``created``/``attempted`` until Razorpay lets it lapse. If a
        customer still pays it after the engine cancelled, the capture arrives as a late
        success, which PaymentOutcomes records and refunds automatically.
        """

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        refund_id, paid = request.refund_id, request.gateway_payment_id
        data: Entity = {
            "amount": RAZORPAY_UNITS.to_provider(request.amount, request.currency),
            "notes": {"refundId": refund_id, "paymentId": str(request.payment_id)},
        }
        if len(refund_id) <= RECEIPT_LIMIT:
            data["receipt"] = refund_id
        with self._witnessed("refund", {"payment_id": paid, **data}) as answer, _translated():
            refund = self._refund_with_id(paid, refund_id)
            if refund is None:
                # The key makes a retry safe even while an earlier call is still in flight
                # (a worker killed mid-call, its task taken over): the listing cannot see
                # a refund that is not made yet.
                key = refund_idempotency_key(refund_id)
                headers: dict[str, str] = {"X-Refund-Idempotency": key}
                refund = self._client.payment.refund(paid, data, headers=headers)
            answer["response"] = dict(refund)
        status = REFUND_STATUSES.get(str(refund.get("status")), ProviderRefundStatus.PENDING)
        return ProviderRefund(str(refund["id"]), status)

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        with _translated():
            payment = self._client.payment.fetch(gateway_payment_id)
        currency = str(payment.get("currency") or "")
        try:
            amount = RAZORPAY_UNITS.from_provider(int(payment["amount"]), currency)
        except (DomainError, KeyError, TypeError, ValueError):
            raise PermanentProviderError(
                f"payment {gateway_payment_id} has no readable amount"
            ) from None
        order_id = payment.get("order_id")
        return ProviderCharge(
            gateway_payment_id=gateway_payment_id,
            gateway_order_id=str(order_id) if order_id else None,
            amount=amount,
            currency=currency.upper(),
            status=str(payment.get("status")),
            captured=bool(payment.get("captured")),
        )

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        """Capture the authorized payment (Razorpay captures only its whole amount). It has
        no idempotency keys: a repeat finds the payment captured and answers it."""
        paid = request.gateway_payment_id
        amount = RAZORPAY_UNITS.to_provider(request.amount, request.currency)
        sent: Entity = {"payment_id": paid, "amount": amount, "currency": request.currency}
        with self._witnessed("capture", sent) as answer, _translated():
            payment = dict(self._client.payment.fetch(paid))
            if payment.get("status") == "authorized":
                data = {"currency": request.currency.upper()}
                try:
                    payment = dict(self._client.payment.capture(paid, amount, data))
                except BadRequestError:
                    # A capture that landed meanwhile (a dead worker's call, its task taken
                    # over) is refused as "already captured": read what it did.
                    payment = dict(self._client.payment.fetch(paid))
                    if not payment.get("captured"):
                        raise
            answer["response"] = payment
        if not payment.get("captured"):
            raise PermanentProviderError(
                f"payment {paid} is {payment.get('status')}: it cannot be captured"
            )
        currency = str(payment.get("currency") or request.currency).upper()
        return ProviderCharge(
            gateway_payment_id=paid,
            gateway_order_id=str(payment["order_id"]) if payment.get("order_id") else None,
            amount=RAZORPAY_UNITS.from_provider(int(payment["amount"]), currency),
            currency=currency,
            status=str(payment.get("status")),
            captured=True,
        )

    def _refund_with_id(self, gateway_payment_id: str, refund_id: str) -> Entity | None:
        found = self._client.payment.fetch_multiple_refund(gateway_payment_id, {"count": 100})
        for refund in found.get("items", []):
            notes = refund.get("notes")
            tagged = isinstance(notes, dict) and notes.get("refundId") == refund_id
            if tagged or refund.get("receipt") == refund_id:
                return dict(refund)
        return None


class RazorpayLedger:
    """Razorpay's payments of a window and their refunds, for reconciliation. Which engine
    payment each belongs to is for the caller to find, by the order the engine stored."""

    provider = Provider.RAZORPAY.value
    PAGE = 100

    def __init__(self, client: Any) -> None:
        self._client = client

    def payments(self, since: datetime, until: datetime) -> list[LedgerPayment]:
        found: list[LedgerPayment] = []
        window = {"from": int(since.timestamp()), "to": int(until.timestamp()) - 1}
        with _translated():
            while True:
                page = self._client.payment.all(window | {"count": self.PAGE, "skip": len(found)})
                items = [dict(item) for item in page.get("items", [])]
                found += [self._entry(item) for item in items]
                if len(items) < self.PAGE:
                    return found

    def payment(self, gateway_payment_id: str) -> LedgerPayment | None:
        with _translated():
            try:
                return self._entry(dict(self._client.payment.fetch(gateway_payment_id)))
            except BadRequestError:
                return None  # "The id provided does not exist"

    def _entry(self, payment: Entity) -> LedgerPayment:
        currency = str(payment.get("currency") or "").upper()
        captured = bool(payment.get("captured"))
        refunds: tuple[LedgerRefund, ...] = ()
        if captured:
            listed = self._client.payment.fetch_multiple_refund(payment["id"], {"count": 100})
            refunds = tuple(
                LedgerRefund(
                    str(refund["id"]),
                    RAZORPAY_UNITS.from_provider(int(refund["amount"]), currency),
                    REFUND_STATUSES.get(
                        str(refund.get("status")), ProviderRefundStatus.PENDING
                    ).value,
                    _tag(refund.get("notes"), "refundId"),
                )
                for refund in listed.get("items", [])
            )
        order_id = payment.get("order_id")
        return LedgerPayment(
            gateway_payment_id=str(payment["id"]),
            gateway_order_id=str(order_id) if order_id else None,
            engine_payment_id=None,  # its notes are the customer's: found by the order
            amount=RAZORPAY_UNITS.from_provider(int(payment.get("amount") or 0), currency),
            currency=currency,
            status=str(payment.get("status")),
            captured=captured,
            authorized=payment.get("status") == "authorized",
            refunds=refunds,
        )


def _tag(notes: object, key: str) -> str | None:
    value = notes.get(key) if isinstance(notes, dict) else None
    return value if isinstance(value, str) else None


def refund_idempotency_key(refund_id: str) -> str:
    """The refund id when Razorpay takes it as a key (10+ letters, digits, ``-``, ``_``),
    else a digest of it: the same refund always sends the same key."""
    if IDEMPOTENCY_KEY.fullmatch(refund_id):
        return refund_id
    return "sha256-" + hashlib.sha256(refund_id.encode()).hexdigest()[:48]


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (BadRequestError, GatewayError, ServerError) as exc:
        # 429 and 5xx never get here (ClassifyingSession): what is left is a 4xx.
        raise PermanentProviderError(str(exc) or type(exc).__name__) from None
    except requests.RequestException as exc:  # e.g. an answer that is not JSON
        raise TransientProviderError(f"razorpay answer unreadable: {exc}") from None


def _description(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["description"])
    except (ValueError, KeyError, TypeError):
        return response.reason or "no description"


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> None:
    """Raise InvalidSignature unless ``signature`` is the hex HMAC-SHA256 of these bytes.

    Razorpay signs the raw body with the webhook secret (not the key secret). Its
    webhooks carry no timestamp: a replay is caught by the event id instead.
    """
    if not signature:
        raise InvalidSignature(RejectReason.MISSING, "no X-Razorpay-Signature header")
    if not _signed(payload, signature, secret):
        raise InvalidSignature(RejectReason.INVALID, "the signature does not match the body")


def payment_signature_matches(
    gateway_order_id: str, razorpay_payment_id: str, signature: str, key_secret: str
) -> bool:
    """checkout.js's ``razorpay_signature``: HMAC-SHA256 of ``"<order_id>|<payment_id>"``.

    ``gateway_order_id`` must be the order id the engine stored, never the client's.
    """
    message = f"{gateway_order_id}|{razorpay_payment_id}".encode()
    return _signed(message, signature, key_secret)


class RazorpayPaymentProofSignatures:
    """The application's PaymentProofSignatures port, checked with the key secret."""

    def __init__(self, key_secret: str) -> None:
        self._key_secret = key_secret

    def matches(self, gateway_order_id: str, gateway_payment_id: str, signature: str) -> bool:
        return payment_signature_matches(
            gateway_order_id, gateway_payment_id, signature, self._key_secret
        )


def _signed(message: bytes, signature: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    # Bytes, so a non-ASCII signature compares unequal instead of raising.
    return hmac.compare_digest(expected.encode(), signature.encode())
