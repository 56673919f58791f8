"""Disputes (chargebacks): the cardholder's bank opens one (a test control), then it ends.

As in Stripe, opening a dispute sends ``charge.dispute.created`` and, as the money leaves,
``charge.dispute.funds_withdrawn``; the charge is ``disputed`` from then on and can no longer
be refunded. The bank's decision sends ``charge.dispute.closed`` (status ``won`` or ``lost``),
and a win also ``charge.dispute.funds_reinstated``. The PaymentIntent never changes.
The merchant can accept a dispute with ``POST /v1/disputes/{id}/close``, which loses it.
"""

from __future__ import annotations

import copy
from typing import Any

from . import stripe_objects as objects
from .store import JsonObject, SandboxStore
from .stripe_errors import invalid_request, resource_missing
from .stripe_events import AUTOMATIC, RequestRef, StripeEventLog
from .stripe_forms import enum_param, positive_amount, reject_unknown, string_param
from .stripe_lists import LIST_PARAMS, list_page

OPEN_PARAMS = ("amount", "reason")
LIST_DISPUTE_PARAMS = (*LIST_PARAMS, "charge", "payment_intent")
CLOSE_PARAMS = ("expand",)
ACTIVE = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")
ENDINGS = ("won", "lost")


def blocks_refund(store: SandboxStore, charge_id: str) -> bool:
    """A chargeback not won stops refunds: the money has already gone back to the card."""
    return any(
        d["charge"] == charge_id and d["status"] != "won" for d in store.stripe.disputes.values()
    )


class StripeDisputes:
    def __init__(self, store: SandboxStore, events: StripeEventLog) -> None:
        self._store = store
        self._events = events

    def open_dispute(self, target_id: str, params: JsonObject) -> JsonObject:
        """Dispute a succeeded charge (``ch_``), or a PaymentIntent's (``pi_``) latest charge."""
        reject_unknown(params, OPEN_PARAMS)
        reason = enum_param(params, "reason", objects.DISPUTE_REASONS) or "fraudulent"
        requested = positive_amount(params, "amount")
        with self._store.lock:
            charge = self._disputable_charge(target_id)
            amount = charge["amount_captured"] if requested is None else requested
            if amount > charge["amount_captured"]:
                raise invalid_request(
                    "A dispute cannot be for more than the charge captured.", param="amount"
                )
            dispute = objects.dispute(charge, amount, reason)
            self._store.stripe.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self._events.emit("charge.dispute.created", dispute, AUTOMATIC)
            withdrawal = objects.dispute_balance_transaction(dispute, withdrawal=True)
            dispute["balance_transactions"].append(withdrawal)
            self._events.emit("charge.dispute.funds_withdrawn", dispute, AUTOMATIC)
            return copy.deepcopy(dispute)

    def decide(self, dispute_id: str, status: Any) -> JsonObject:
        """The bank's decision on a dispute: ``won`` or ``lost``."""
        if status not in ENDINGS:
            raise invalid_request(f"status must be one of {', '.join(ENDINGS)}", param="status")
        with self._store.lock:
            dispute = self._active(dispute_id)
            dispute["status"] = status
            self._events.emit("charge.dispute.closed", dispute, AUTOMATIC)
            if status == "won":
                reinstated = objects.dispute_balance_transaction(dispute, withdrawal=False)
                dispute["balance_transactions"].append(reinstated)
                self._events.emit("charge.dispute.funds_reinstated", dispute, AUTOMATIC)
            return copy.deepcopy(dispute)

    def close(self, dispute_id: str, params: JsonObject, request: RequestRef) -> JsonObject:
        """``POST /v1/disputes/{id}/close``: the merchant accepts the dispute, and loses it."""
        reject_unknown(params, CLOSE_PARAMS)
        with self._store.lock:
            dispute = self._active(dispute_id)
            dispute["status"] = "lost"
            self._events.emit("charge.dispute.closed", dispute, request)
            return copy.deepcopy(dispute)

    def retrieve(self, dispute_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._dispute(dispute_id))

    def list_disputes(self, params: JsonObject) -> JsonObject:
        """``GET /v1/disputes``: newest first, filtered by ``charge`` or ``payment_intent``."""
        reject_unknown(params, LIST_DISPUTE_PARAMS)
        charge_id = string_param(params, "charge")
        intent_id = string_param(params, "payment_intent")
        with self._store.lock:
            disputes = [
                d
                for d in reversed(self._store.stripe.disputes.values())
                if charge_id in (None, d["charge"]) and intent_id in (None, d["payment_intent"])
            ]
            return list_page(disputes, params, "dispute", "/v1/disputes")

    def _disputable_charge(self, target_id: str) -> JsonObject:
        state = self._store.stripe
        charge_id = target_id
        if target_id.startswith("pi_"):
            intent = state.payment_intents.get(target_id)
            if intent is None:
                raise resource_missing("payment_intent", target_id, "payment_intent")
            if intent["latest_charge"] is None:
                raise invalid_request(f"PaymentIntent {target_id} has no charge to dispute.")
            charge_id = intent["latest_charge"]
        charge = state.charges.get(charge_id)
        if charge is None:
            raise resource_missing("charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid_request(f"Charge {charge['id']} has not succeeded; nothing to dispute.")
        if not charge["captured"]:
            # An authorization only holds the funds: the card's bank has nothing to charge back.
            raise invalid_request(f"Charge {charge['id']} was not captured; nothing to dispute.")
        if any(d["charge"] == charge["id"] for d in state.disputes.values()):
            raise invalid_request(f"Charge {charge['id']} has already been disputed.")
        return charge

    def _active(self, dispute_id: str) -> JsonObject:
        dispute = self._dispute(dispute_id)
        if dispute["status"] not in ACTIVE:
            raise invalid_request(
                f"This dispute is already closed (status {dispute['status']}).", param="dispute"
            )
        return dispute

    def _dispute(self, dispute_id: str) -> JsonObject:
        dispute = self._store.stripe.disputes.get(dispute_id)
        if dispute is None:
            raise resource_missing("dispute", dispute_id, "dispute")
        return dispute
