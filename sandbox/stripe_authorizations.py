"""Manual capture: a PaymentIntent authorized now, then captured, voided, or left to expire.

Confirming an intent with ``capture_method=manual`` leaves it ``requires_capture`` with an
uncaptured, succeeded charge holding the funds. Capturing takes ``amount_to_capture`` (at most
``amount_capturable``) and releases the rest, which the charge shows in ``amount_refunded``;
cancelling voids the hold; and Stripe cancels on its own (``cancellation_reason: automatic``)
an intent whose authorization was not captured within 7 days, as the sandbox clock counts them.
"""

from __future__ import annotations

import copy

from . import stripe_objects as objects
from .ids import stripe_id
from .store import JsonObject, SandboxStore
from .stripe_errors import invalid_request, unexpected_state
from .stripe_events import AUTOMATIC, RequestRef, StripeEventLog

AUTHORIZATION_SECONDS = 7 * 86400  # how long a card authorization holds the funds
CAPTURE_PARAMS = (
    "amount_to_capture", "application_fee_amount", "expand", "final_capture", "hooks",
    "metadata", "payment_details", "statement_descriptor", "statement_descriptor_suffix",
    "transfer_data",
)  # fmt: skip


class StripeAuthorizations:
    def __init__(self, store: SandboxStore, events: StripeEventLog) -> None:
        self._store = store
        self._events = events

    def authorize(self, intent: JsonObject, charge: JsonObject, request: RequestRef) -> None:
        """The card authorized ``intent``'s amount; nothing is captured yet."""
        capture_before = charge["created"] + AUTHORIZATION_SECONDS
        charge["payment_method_details"]["card"]["capture_before"] = capture_before
        intent.update(status="requires_capture", amount_capturable=intent["amount"])
        self._events.emit("charge.succeeded", charge, request)
        self._events.emit("payment_intent.amount_capturable_updated", intent, request)

    def capture(
        self,
        intent: JsonObject,
        amount: int | None,
        metadata: dict[str, str] | None,
        request: RequestRef,
    ) -> JsonObject:
        """``POST /v1/payment_intents/:id/capture`` on ``intent`` (the store lock held)."""
        status = intent["status"]
        if status != "requires_capture":
            raise unexpected_state(
                f"This PaymentIntent could not be captured because it has a status of {status}. "
                "Only a PaymentIntent with one of the following statuses may be captured: "
                "requires_capture."
            )
        capturable = intent["amount_capturable"]
        captured = capturable if amount is None else amount
        if captured > capturable:
            currency = intent["currency"]
            raise invalid_request(
                f"The amount to capture ({objects.format_amount(captured, currency)}) is greater "
                f"than the amount capturable ({objects.format_amount(capturable, currency)}) "
                "on this PaymentIntent.",
                param="amount_to_capture",
                code="amount_too_large",
            )
        charge = self._store.stripe.charges[intent["latest_charge"]]
        charge.update(
            captured=True,
            amount_captured=captured,
            amount_refunded=charge["amount"] - captured,
            balance_transaction=stripe_id("txn"),
        )
        if metadata is not None:
            intent["metadata"] = metadata
        intent.update(status="succeeded", amount_capturable=0, amount_received=captured)
        self._events.emit("charge.captured", charge, request)
        self._events.emit("payment_intent.succeeded", intent, request)
        return copy.deepcopy(intent)

    def void(self, intent: JsonObject, request: RequestRef) -> None:
        """Cancelling a ``requires_capture`` intent releases the hold: the charge is refunded."""
        charge = self._release(intent)
        self._events.emit("charge.refunded", charge, request)

    def expire_due(self) -> list[str]:
        """Cancel every intent whose authorization is past its ``capture_before``."""
        with self._store.lock:
            intents = list(self._store.stripe.payment_intents.values())
            return [intent["id"] for intent in intents if self.expire_if_due(intent)]

    def expire_if_due(self, intent: JsonObject) -> bool:
        if intent["status"] != "requires_capture":
            return False
        charge = self._store.stripe.charges[intent["latest_charge"]]
        if charge["payment_method_details"]["card"]["capture_before"] > self._store.clock.now():
            return False
        self._release(intent)
        intent.update(
            status="canceled", canceled_at=self._store.clock.now(), cancellation_reason="automatic"
        )
        self._events.emit("charge.expired", charge, AUTOMATIC)
        self._events.emit("payment_intent.canceled", intent, AUTOMATIC)
        return True

    def _release(self, intent: JsonObject) -> JsonObject:
        charge = self._store.stripe.charges[intent["latest_charge"]]
        charge.update(amount_refunded=charge["amount"], refunded=True)
        intent["amount_capturable"] = 0
        return charge
