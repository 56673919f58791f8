"""Razorpay payment capture: at once, or by the merchant's ``POST /v1/payments/:id/capture``.

An order's ``payment.capture`` (or the older ``payment_capture`` flag) says which. A payment of
a manual-capture order stays ``authorized`` until captured, and its order ``attempted``; one not
captured within the order's ``manual_expiry_period`` (5 days unless given) is refunded to the
customer by Razorpay, as the sandbox clock counts the time. Payments without an order are
captured at once, as the account's default setting does.
"""

from __future__ import annotations

import copy
from typing import Any

from . import razorpay_objects as objects
from .razorpay_events import RazorpayEventLog
from .razorpay_objects import RazorpayApiError, reject_unknown
from .store import CaptureSettings, JsonObject, SandboxStore

PAYMENT_OPTION_FIELDS = ("capture", "capture_options")
CAPTURE_OPTION_FIELDS = ("automatic_expiry_period", "manual_expiry_period", "refund_speed")
CAPTURE_FIELDS = ("amount", "currency")
CAPTURE_MODES = ("automatic", "manual")
REFUND_SPEEDS = ("normal", "optimum")
MIN_EXPIRY_MINUTES = 12
MAX_EXPIRY_MINUTES = 7200  # 5 days: Razorpay refunds what is still uncaptured by then


def capture_settings(body: JsonObject) -> CaptureSettings:
    """An order's capture settings from its ``payment`` object or ``payment_capture`` flag."""
    options = body.get("payment")
    if options is None:
        legacy = body.get("payment_capture")
        if legacy is None:
            return CaptureSettings()
        return CaptureSettings(manual=not _flag(legacy))
    if not isinstance(options, dict):
        raise RazorpayApiError("The payment must be an array.", field="payment")
    reject_unknown(options, PAYMENT_OPTION_FIELDS)
    mode = options.get("capture")
    if mode is None or mode == "":
        raise RazorpayApiError("The payment.capture field is required.", field="payment.capture")
    if mode not in CAPTURE_MODES:
        raise RazorpayApiError("The selected payment.capture is invalid.", field="payment.capture")
    timing = options.get("capture_options")
    if timing is None:
        return CaptureSettings(manual=mode == "manual")
    if not isinstance(timing, dict):
        raise RazorpayApiError(
            "The payment.capture_options must be an array.", field="payment.capture_options"
        )
    reject_unknown(timing, CAPTURE_OPTION_FIELDS)
    if mode == "automatic":
        _minutes(timing, "automatic_expiry_period", required=True)
    manual_minutes = _minutes(timing, "manual_expiry_period", required=False)
    speed = timing.get("refund_speed")
    name = "payment.capture_options.refund_speed"
    if speed is None or speed == "":
        raise RazorpayApiError(f"The {name} field is required.", field=name)
    if speed not in REFUND_SPEEDS:
        raise RazorpayApiError(f"The selected {name} is invalid.", field=name)
    return CaptureSettings(
        manual=mode == "manual",
        manual_expiry_minutes=manual_minutes or MAX_EXPIRY_MINUTES,
        refund_speed=str(speed),
    )


def _flag(value: Any) -> bool:
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false"):
        return False
    raise RazorpayApiError(
        "The payment capture field must be true or false.", field="payment_capture"
    )


def _minutes(timing: JsonObject, key: str, *, required: bool) -> int | None:
    name = f"payment.capture_options.{key}"
    value = timing.get(key)
    if value is None or value == "":
        if required:
            raise RazorpayApiError(f"The {name} field is required.", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RazorpayApiError(f"The {name} must be an integer.", field=name)
    if value < MIN_EXPIRY_MINUTES:
        raise RazorpayApiError(f"The {name} must be at least {MIN_EXPIRY_MINUTES}.", field=name)
    if value > MAX_EXPIRY_MINUTES:
        raise RazorpayApiError(
            f"The {name} may not be greater than {MAX_EXPIRY_MINUTES}.", field=name
        )
    return value


class RazorpayCaptures:
    def __init__(self, store: SandboxStore, events: RazorpayEventLog) -> None:
        self._store = store
        self._events = events

    def settle(self, payment: JsonObject, order: JsonObject | None) -> None:
        """The bank authorized ``payment``: captured at once, unless its order says manual."""
        payment["status"] = "authorized"
        self._events.emit("payment.authorized", {"payment": payment})
        state = self._store.razorpay
        settings = state.order_capture.get(order["id"]) if order is not None else None
        if settings is not None and settings.manual:
            deadline = payment["created_at"] + settings.manual_expiry_minutes * 60
            state.capture_deadlines[payment["id"]] = deadline
            return
        self._capture(payment, order)

    def capture(self, payment: JsonObject, body: JsonObject) -> JsonObject:
        """``POST /v1/payments/:id/capture`` (the store lock held): the whole amount, or no."""
        reject_unknown(body, CAPTURE_FIELDS)
        amount = _capture_amount(body)
        currency = body.get("currency")
        if currency is None or currency == "":
            raise RazorpayApiError("The currency field is required.", field="currency")
        if payment["captured"]:
            raise RazorpayApiError("This payment has already been captured", field="id")
        if payment["status"] != "authorized":
            raise RazorpayApiError(
                "Only payments which have been authorized and not yet captured can be captured",
                field="id",
            )
        if amount != payment["amount"]:
            raise RazorpayApiError(
                "Capture amount must be equal to the amount authorized", field="amount"
            )
        if not isinstance(currency, str) or currency.upper() != payment["currency"]:
            raise RazorpayApiError(
                "Currency should be same as the payment currency", field="currency"
            )
        self._store.razorpay.capture_deadlines.pop(payment["id"], None)
        order_id = payment["order_id"]
        order = self._store.razorpay.orders.get(order_id) if order_id is not None else None
        self._capture(payment, order)
        return copy.deepcopy(payment)

    def expire_due(self) -> list[str]:
        """Refund every authorized payment whose capture window has closed; their ids."""
        with self._store.lock:
            state = self._store.razorpay
            due = [state.payments[p] for p in list(state.capture_deadlines)]
            return [payment["id"] for payment in due if self.expire_if_due(payment)]

    def expire_if_due(self, payment: JsonObject) -> bool:
        deadlines = self._store.razorpay.capture_deadlines
        deadline = deadlines.get(payment["id"])
        if deadline is None or deadline > self._store.clock.now():
            return False
        del deadlines[payment["id"]]
        if payment["status"] != "authorized":
            return False
        refund = objects.refund(payment, payment["amount"], {}, None)
        order_id = payment["order_id"]
        settings = self._store.razorpay.order_capture.get(order_id or "", CaptureSettings())
        refund["speed_requested"] = settings.refund_speed
        self._store.razorpay.refunds[refund["id"]] = refund
        payment.update(status="refunded", amount_refunded=payment["amount"], refund_status="full")
        entities = {"refund": refund, "payment": payment}
        self._events.emit("refund.created", entities)
        self._events.emit("refund.processed", entities)
        return True

    def _capture(self, payment: JsonObject, order: JsonObject | None) -> None:
        fee = max(1, round(payment["amount"] * 0.02))
        payment.update(status="captured", captured=True, fee=fee, tax=round(fee * 18 / 118))
        self._events.emit("payment.captured", {"payment": payment})
        if order is None:
            return
        was_paid = order["status"] == "paid"
        # Money in another currency is not money towards this order.
        if payment["currency"] == order["currency"]:
            order["amount_paid"] += payment["amount"]
            order["amount_due"] = max(0, order["amount"] - order["amount_paid"])
        if not was_paid and order["amount_paid"] >= order["amount"]:
            order["status"] = "paid"
            self._events.emit("order.paid", {"payment": payment, "order": order})


def _capture_amount(body: JsonObject) -> int:
    value = body.get("amount")
    if value is None or value == "":
        raise RazorpayApiError("The amount field is required.", field="amount")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RazorpayApiError("The amount must be an integer.", field="amount")
    try:
        return int(value)
    except ValueError:
        raise RazorpayApiError("The amount must be an integer.", field="amount") from None
