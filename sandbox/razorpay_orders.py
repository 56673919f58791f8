"""Razorpay orders, their payments and refunds, and the webhooks each change sends.

The checkout.js stand-in (``pay``, ``pay_without_order``) takes what a customer's browser
controls in real life: the payment's ``notes``, and an ``amount`` and ``currency`` other than
the order's, since checkout.js options are the page's to set. The handed-over signature covers
only ``order_id|payment_id``, as Razorpay's does, so a tampered amount still verifies.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Literal, cast

from . import razorpay_objects as objects
from .razorpay_capture import RazorpayCaptures, capture_settings
from .razorpay_events import RazorpayEventLog
from .razorpay_objects import RazorpayApiError, not_found
from .store import JsonObject, OrderCredentials, SandboxStore
from .webhook_signing import razorpay_signature

ORDER_FIELDS = (
    "amount", "currency", "receipt", "notes", "partial_payment", "first_payment_min_amount",
    "payment_capture", "customer_id", "method", "offer_id", "token", "bank_account",
    "transfers", "discount", "payment",
)  # fmt: skip
REFUND_FIELDS = ("amount", "speed", "notes", "receipt")
PAY_FIELDS = ("outcome", "notes", "amount", "currency", "allowDuplicate")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")
ORDERLESS_PAY_FIELDS = ("outcome", "notes", "amount", "currency")
MIN_AMOUNT = 100  # the smallest order or refund: one rupee, in paise
PaymentOutcome = Literal["success", "failure"]
DECLINED = (
    "Your payment didn't go through as it was declined by the bank. Try another payment "
    "method or contact your bank."
)


class RazorpayOrders:
    def __init__(self, store: SandboxStore, events: RazorpayEventLog) -> None:
        self._store = store
        self._events = events
        self._captures = RazorpayCaptures(store, events)

    # -- orders ----------------------------------------------------------------------------

    def create_order(self, body: JsonObject, credentials: OrderCredentials) -> JsonObject:
        objects.reject_unknown(body, ORDER_FIELDS)
        amount = _amount(body, required=True)
        currency = _currency(body, default=None)
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise RazorpayApiError(
                "The receipt may not be greater than 40 characters.", field="receipt"
            )
        settings = capture_settings(body)
        order = objects.order(amount, currency, receipt, _notes(body))
        with self._store.lock:
            state = self._store.razorpay
            state.orders[order["id"]] = order
            state.order_credentials[order["id"]] = credentials
            state.order_capture[order["id"]] = settings
            return copy.deepcopy(order)

    def fetch_order(self, order_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._order(order_id))

    def list_orders(self, query: dict[str, str]) -> JsonObject:
        """``GET /v1/orders``: newest first, by ``receipt``/``authorized``/``from``/``to``."""
        count, skip = _page(query)
        with self._store.lock:
            orders = list(reversed(self._store.razorpay.orders.values()))
            if "receipt" in query:
                orders = [o for o in orders if o["receipt"] == query["receipt"]]
            if "authorized" in query:
                want = query["authorized"] in ("1", "true")
                orders = [o for o in orders if (o["status"] == "paid") == want]
            low, high = _query_int(query, "from", 0), _query_int(query, "to", 2**63)
            orders = [o for o in orders if low <= o["created_at"] <= high]
            return objects.collection(copy.deepcopy(orders[skip : skip + count]))

    def order_payments(self, order_id: str) -> JsonObject:
        with self._store.lock:
            self._order(order_id)
            payments = [
                p for p in self._store.razorpay.payments.values() if p["order_id"] == order_id
            ]
            return objects.collection(copy.deepcopy(list(reversed(payments))))

    # -- payments and refunds --------------------------------------------------------------

    def list_payments(self, query: dict[str, str]) -> JsonObject:
        """``GET /v1/payments``: newest first, by ``from``/``to`` (unix seconds); paged."""
        count, skip = _page(query)
        with self._store.lock:
            payments = list(reversed(self._store.razorpay.payments.values()))
            low, high = _query_int(query, "from", 0), _query_int(query, "to", 2**63)
            payments = [p for p in payments if low <= p["created_at"] <= high]
            return objects.collection(copy.deepcopy(payments[skip : skip + count]))

    def fetch_payment(self, payment_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._payment(payment_id))

    def payment_refunds(self, payment_id: str) -> JsonObject:
        with self._store.lock:
            self._payment(payment_id)
            refunds = [
                r for r in self._store.razorpay.refunds.values() if r["payment_id"] == payment_id
            ]
            return objects.collection(copy.deepcopy(list(reversed(refunds))))

    def fetch_refund(self, refund_id: str) -> JsonObject:
        with self._store.lock:
            refund = self._store.razorpay.refunds.get(refund_id)
            if refund is None:
                raise not_found()
            return copy.deepcopy(refund)

    def fetch_payment_refund(self, payment_id: str, refund_id: str) -> JsonObject:
        """``GET /v1/payments/:id/refunds/:refund_id``: one refund, of that payment only."""
        with self._store.lock:
            self._payment(payment_id)
            refund = self._store.razorpay.refunds.get(refund_id)
            if refund is None or refund["payment_id"] != payment_id:
                raise not_found()
            return copy.deepcopy(refund)

    def capture_payment(self, payment_id: str, body: JsonObject) -> JsonObject:
        """``POST /v1/payments/:id/capture``: see ``razorpay_capture``."""
        with self._store.lock:
            return self._captures.capture(self._payment(payment_id), body)

    def expire_authorizations(self) -> list[str]:
        """Refund authorized payments left uncaptured past their window; returns their ids."""
        return self._captures.expire_due()

    def refund_payment(
        self, payment_id: str, body: JsonObject, idempotency_key: str | None = None
    ) -> JsonObject:
        """A normal refund; with ``X-Refund-Idempotency`` the same key and request give the
        same refund, and the same key with another request is refused, as Razorpay does.

        Razorpay answers 409 to a retry that arrives while the first request is still being
        processed; here a request is processed whole under the store's lock, so a retry
        either finds the refund or is the first to arrive.
        """
        objects.reject_unknown(body, REFUND_FIELDS)
        requested = _amount(body, required=False, what="Refund") if "amount" in body else None
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise RazorpayApiError(
                "The idempotency key must be at least 10 characters: letters, digits, "
                "hyphens and underscores"
            )
        fingerprint = json.dumps([payment_id, body], sort_keys=True)
        with self._store.lock:
            if idempotency_key is not None:
                known = self._store.razorpay.refund_keys.get(idempotency_key)
                if known is not None:
                    if known[0] != fingerprint:
                        raise RazorpayApiError(
                            "Different request with the same idempotency key has already "
                            "been processed."
                        )
                    return copy.deepcopy(self._store.razorpay.refunds[known[1]])
            payment = self._payment(payment_id)
            if not payment["captured"]:
                raise RazorpayApiError("The payment has not been captured yet", field="id")
            remaining = payment["amount"] - payment["amount_refunded"]
            if remaining <= 0:
                raise RazorpayApiError("The payment has been fully refunded already")
            amount = remaining if requested is None else requested
            if amount > remaining:
                raise RazorpayApiError(
                    "The refund amount provided is greater than amount captured", field="amount"
                )
            receipt = body.get("receipt")
            refund = objects.refund(payment, amount, _notes(body), _optional_str(receipt))
            self._store.razorpay.refunds[refund["id"]] = refund
            if idempotency_key is not None:
                self._store.razorpay.refund_keys[idempotency_key] = (fingerprint, refund["id"])
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] >= payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
            entities = {"refund": refund, "payment": payment}
            self._events.emit("refund.created", entities)
            self._events.emit("refund.processed", entities)
            return copy.deepcopy(refund)

    # -- checkout.js stand-in --------------------------------------------------------------

    def pay(self, order_id: str, body: JsonObject) -> JsonObject:
        """A customer pays ``order_id`` through checkout; answers what checkout.js hands over.

        ``body``: ``outcome`` (success/failure), ``notes``, ``amount`` and ``currency`` (default
        the order's due amount and currency) and ``allowDuplicate`` (pay an order already paid,
        as a late UPI payment racing a card payment does).
        """
        objects.reject_unknown(body, PAY_FIELDS)
        outcome = _outcome(body)
        notes = _notes(body)
        duplicate = body.get("allowDuplicate", False)
        if not isinstance(duplicate, bool):
            raise RazorpayApiError("allowDuplicate must be a boolean", field="allowDuplicate")
        requested = _amount(body, required=False, what="Payment") if "amount" in body else None
        with self._store.lock:
            order = self._order(order_id)
            already_paid = order["status"] == "paid"
            if already_paid and not duplicate:
                raise RazorpayApiError("Order has already been paid", field="order_id")
            amount = requested or order["amount_due"] or order["amount"]
            currency = _currency(body, default=order["currency"])
            payment = objects.payment(order_id, amount, currency, notes)
            self._store.razorpay.payments[payment["id"]] = payment
            order["attempts"] += 1
            if not already_paid:
                order["status"] = "attempted"
            if outcome == "failure":
                self._fail(payment)
            self._captures.settle(payment, order)
            secret = self._store.razorpay.order_credentials[order_id].key_secret
            message = f"{order_id}|{payment['id']}".encode()
            return {
                "razorpay_order_id": order_id,
                "razorpay_payment_id": payment["id"],
                "razorpay_signature": razorpay_signature(message, secret),
            }

    def pay_without_order(self, body: JsonObject) -> JsonObject:
        """A standard payment made without a Razorpay order: nothing to sign, no order to pay."""
        objects.reject_unknown(body, ORDERLESS_PAY_FIELDS)
        outcome = _outcome(body)
        notes = _notes(body)
        amount = _amount(body, required=True, what="Payment")
        currency = _currency(body, default="INR")
        with self._store.lock:
            payment = objects.payment(None, amount, currency, notes)
            self._store.razorpay.payments[payment["id"]] = payment
            if outcome == "failure":
                self._fail(payment)
            self._captures.settle(payment, None)
            return {"razorpay_payment_id": payment["id"]}

    def key_id_for(self, order_id: str) -> str:
        with self._store.lock:
            self._order(order_id)
            return self._store.razorpay.order_credentials[order_id].key_id

    def _fail(self, payment: JsonObject) -> None:
        metadata = {"payment_id": payment["id"]}
        if payment["order_id"] is not None:
            metadata["order_id"] = payment["order_id"]
        error = RazorpayApiError(
            DECLINED,
            source="bank",
            step="payment_authorization",
            reason="payment_failed",
            metadata=metadata,
        )
        payment.update(
            status="failed",
            error_code=error.code,
            error_description=error.description,
            error_source=error.source,
            error_step=error.step,
            error_reason=error.reason,
        )
        self._events.emit("payment.failed", {"payment": payment})
        raise error

    def _order(self, order_id: str) -> JsonObject:
        order = self._store.razorpay.orders.get(order_id)
        if order is None:
            raise not_found()
        return order

    def _payment(self, payment_id: str) -> JsonObject:
        payment = self._store.razorpay.payments.get(payment_id)
        if payment is None:
            raise not_found()
        # Razorpay never shows a payment past its capture window as still authorized.
        self._captures.expire_if_due(payment)
        return payment


def _amount(body: JsonObject, *, required: bool, what: str = "Order") -> int:
    value: Any = body.get("amount")
    if value is None or value == "":
        if required:
            raise RazorpayApiError("The amount field is required.", field="amount")
        raise RazorpayApiError("The amount must be an integer.", field="amount")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RazorpayApiError("The amount must be an integer.", field="amount")
    try:
        amount = int(value)
    except ValueError:
        raise RazorpayApiError("The amount must be an integer.", field="amount") from None
    if amount < MIN_AMOUNT:
        raise RazorpayApiError(f"{what} amount less than minimum amount allowed", field="amount")
    return amount


def _currency(body: JsonObject, *, default: str | None) -> str:
    currency = body.get("currency")
    if currency is None or currency == "":
        if default is None:
            raise RazorpayApiError("The currency field is required.", field="currency")
        return default
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise RazorpayApiError("Currency is not supported", field="currency")
    return currency.upper()


def _outcome(body: JsonObject) -> PaymentOutcome:
    outcome = body.get("outcome", "success")
    if outcome not in ("success", "failure"):
        raise RazorpayApiError("outcome must be one of success, failure", field="outcome")
    return cast(PaymentOutcome, outcome)


def _notes(body: JsonObject) -> dict[str, str]:
    notes = body.get("notes")
    if notes is None or notes == [] or notes == "":
        return {}
    if not isinstance(notes, dict):
        raise RazorpayApiError("The notes must be an array.", field="notes")
    if len(notes) > 15:
        raise RazorpayApiError("Number of notes must not exceed 15.", field="notes")
    for key, value in notes.items():
        if len(str(value)) > 256:
            raise RazorpayApiError(
                f"notes.{key} may not be greater than 256 characters.", field="notes"
            )
    return {str(key): str(value) for key, value in notes.items()}


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _page(query: dict[str, str]) -> tuple[int, int]:
    """``count`` (1 to 100, default 10) and ``skip`` (default 0) of a list call."""
    count = _query_int(query, "count", 10)
    skip = _query_int(query, "skip", 0)
    if not 1 <= count <= 100:
        raise RazorpayApiError("The count must be between 1 and 100.", field="count")
    if skip < 0:
        raise RazorpayApiError("The skip must be at least 0.", field="skip")
    return count, skip


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RazorpayApiError(f"The {name} must be an integer.", field=name) from None
