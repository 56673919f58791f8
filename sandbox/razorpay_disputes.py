"""Razorpay disputes: a customer's bank raises one (a test control), then it is won or lost.

Razorpay sends ``payment.dispute.created`` and, as the dispute ends, ``payment.dispute.won``,
``payment.dispute.lost`` or ``payment.dispute.closed``; each carries the payment and the
dispute. The merchant can accept a dispute through the API (``POST /v1/disputes/{id}/accept``),
which loses it.
"""

from __future__ import annotations

import copy
from typing import Any

from . import razorpay_objects as objects
from .razorpay_events import RazorpayEventLog
from .razorpay_objects import RazorpayApiError, not_found
from .store import JsonObject, SandboxStore

OPEN_FIELDS = ("amount", "reason_code", "phase")
PHASES = ("chargeback", "pre_arbitration", "arbitration", "retrieval", "fraud")
ENDINGS = ("won", "lost", "closed")
ACTIVE = ("open", "under_review", "action_required")


class RazorpayDisputes:
    def __init__(self, store: SandboxStore, events: RazorpayEventLog) -> None:
        self._store = store
        self._events = events

    def open_dispute(self, payment_id: str, body: JsonObject) -> JsonObject:
        """The customer's bank disputes a captured payment, all of it unless ``amount`` says."""
        objects.reject_unknown(body, OPEN_FIELDS)
        reason_code = _text(body, "reason_code", "chargeback")
        phase = _text(body, "phase", "chargeback")
        if phase not in PHASES:
            raise RazorpayApiError(f"phase must be one of {', '.join(PHASES)}", field="phase")
        with self._store.lock:
            payment = self._store.razorpay.payments.get(payment_id)
            if payment is None:
                raise not_found()
            if not payment["captured"]:
                raise RazorpayApiError("Only a captured payment can be disputed", field="id")
            amount = _amount(body, payment["amount"])
            dispute = objects.dispute(payment, amount, reason_code, phase)
            self._store.razorpay.disputes[dispute["id"]] = dispute
            self._events.emit("payment.dispute.created", {"payment": payment, "dispute": dispute})
            return copy.deepcopy(dispute)

    def close_dispute(self, dispute_id: str, status: Any) -> JsonObject:
        """The bank decides: ``won`` (nothing deducted), ``lost`` (the amount is), ``closed``."""
        if status not in ENDINGS:
            raise RazorpayApiError(f"status must be one of {', '.join(ENDINGS)}", field="status")
        with self._store.lock:
            return self._end(self._dispute(dispute_id), str(status))

    def accept(self, dispute_id: str) -> JsonObject:
        """``POST /v1/disputes/{id}/accept``: the merchant gives in, and the dispute is lost."""
        with self._store.lock:
            return self._end(self._dispute(dispute_id), "lost")

    def fetch(self, dispute_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._dispute(dispute_id))

    def list_disputes(self, query: dict[str, str]) -> JsonObject:
        """``GET /v1/disputes``: newest first, paged by ``count``/``skip``."""
        count, skip = _query_int(query, "count", 10), _query_int(query, "skip", 0)
        if not 1 <= count <= 100:
            raise RazorpayApiError("The count must be between 1 and 100.", field="count")
        with self._store.lock:
            disputes = list(reversed(self._store.razorpay.disputes.values()))
            return objects.collection(copy.deepcopy(disputes[skip : skip + count]))

    def _end(self, dispute: JsonObject, status: str) -> JsonObject:
        if dispute["status"] not in ACTIVE:
            raise RazorpayApiError(
                f"The dispute is already {dispute['status']} and cannot change", field="id"
            )
        dispute["status"] = status
        if status == "lost":
            dispute["amount_deducted"] = dispute["amount"]
        payment = self._store.razorpay.payments[dispute["payment_id"]]
        self._events.emit(f"payment.dispute.{status}", {"payment": payment, "dispute": dispute})
        return copy.deepcopy(dispute)

    def _dispute(self, dispute_id: str) -> JsonObject:
        dispute = self._store.razorpay.disputes.get(dispute_id)
        if dispute is None:
            raise not_found()
        return dispute


def _text(body: JsonObject, name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or not value:
        raise RazorpayApiError(f"The {name} must be a string.", field=name)
    return value


def _amount(body: JsonObject, payment_amount: int) -> int:
    value = body.get("amount")
    if value is None:
        return payment_amount
    if isinstance(value, bool) or not isinstance(value, int):
        raise RazorpayApiError("The amount must be an integer.", field="amount")
    if not 1 <= value <= payment_amount:
        raise RazorpayApiError(
            "The dispute amount must be between 1 and the payment's amount", field="amount"
        )
    return value


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RazorpayApiError(f"The {name} must be an integer.", field=name) from None
