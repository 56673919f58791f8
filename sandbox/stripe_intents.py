"""PaymentIntents, their charges and refunds: what Stripe's test mode does with them."""

from __future__ import annotations

import copy

from . import stripe_objects as objects
from .ids import random_token
from .store import JsonObject, SandboxStore, TestCard
from .stripe_authorizations import CAPTURE_PARAMS, StripeAuthorizations
from .stripe_disputes import blocks_refund
from .stripe_errors import (
    StripeApiError,
    invalid_request,
    missing_param,
    resource_missing,
    unexpected_state,
)
from .stripe_events import RequestRef, StripeEventLog
from .stripe_forms import (
    boolean_param,
    currency_param,
    enum_param,
    metadata_param,
    positive_amount,
    reject_unknown,
    string_param,
)
from .stripe_lists import LIST_PARAMS, list_page

CREATE_PARAMS = (
    "allowed_payment_method_types", "amount", "amount_details", "application_fee_amount",
    "automatic_payment_methods", "capture_method", "confirm", "confirmation_method",
    "confirmation_token", "currency", "customer", "customer_account", "description",
    "error_on_requires_action", "excluded_payment_method_types", "expand", "hooks", "mandate",
    "mandate_data", "metadata", "off_session", "on_behalf_of", "payment_details",
    "payment_method", "payment_method_configuration", "payment_method_data",
    "payment_method_options", "payment_method_types", "radar_options", "receipt_email",
    "return_url", "setup_future_usage", "shipping", "statement_descriptor",
    "statement_descriptor_suffix", "transfer_data", "transfer_group", "use_stripe_sdk",
)  # fmt: skip
CONFIRM_PARAMS = (
    "allowed_payment_method_types", "amount_details", "amount_to_confirm", "capture_method",
    "confirmation_token", "error_on_requires_action", "excluded_payment_method_types", "expand",
    "hooks", "mandate", "mandate_data", "off_session", "payment_details", "payment_method",
    "payment_method_data", "payment_method_options", "payment_method_types", "radar_options",
    "receipt_email", "return_url", "setup_future_usage", "shipping", "use_stripe_sdk",
)  # fmt: skip
CANCEL_PARAMS = ("cancellation_reason", "expand")
REFUND_PARAMS = (
    "amount", "charge", "currency", "customer", "expand", "instructions_email", "metadata",
    "origin", "payment_intent", "reason", "refund_application_fee", "reverse_transfer",
)  # fmt: skip
CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class StripeIntents:
    def __init__(self, store: SandboxStore, events: StripeEventLog) -> None:
        self._store = store
        self._events = events
        self._authorizations = StripeAuthorizations(store, events)

    # -- PaymentIntents --------------------------------------------------------------------

    def create_intent(self, params: JsonObject, request: RequestRef) -> JsonObject:
        reject_unknown(params, CREATE_PARAMS)
        amount = positive_amount(params, "amount", required=True)
        assert amount is not None
        currency = currency_param(params)
        capture_method = enum_param(params, "capture_method", CAPTURE_METHODS)
        automatic = params.get("automatic_payment_methods")
        automatic_enabled = isinstance(automatic, dict) and automatic.get("enabled") == "true"
        types = params.get("payment_method_types") or params.get("allowed_payment_method_types")
        intent = objects.payment_intent(
            amount=amount,
            currency=currency,
            metadata=metadata_param(params),
            description=string_param(params, "description"),
            payment_method_types=list(types) if isinstance(types, list) else ["card"],
            automatic_payment_methods=automatic_enabled or not types,
            receipt_email=string_param(params, "receipt_email"),
            statement_descriptor=string_param(params, "statement_descriptor"),
        )
        if capture_method is not None:
            intent["capture_method"] = capture_method
        payment_method = string_param(params, "payment_method")
        with self._store.lock:
            if payment_method is not None:
                self._resolve_card(payment_method)
            self._store.stripe.payment_intents[intent["id"]] = intent
            self._events.emit("payment_intent.created", intent, request)
            if payment_method is not None:
                intent["payment_method"] = payment_method
                intent["status"] = "requires_confirmation"
            if boolean_param(params, "confirm"):
                return self._attempt(intent, payment_method, request)
            return copy.deepcopy(intent)

    def list_intents(self, params: JsonObject) -> JsonObject:
        """``GET /v1/payment_intents``: newest first, filtered by ``customer``."""
        reject_unknown(params, (*LIST_PARAMS, "customer"))
        customer = string_param(params, "customer")
        with self._store.lock:
            intents = [
                i
                for i in reversed(self._store.stripe.payment_intents.values())
                if customer in (None, i["customer"])
            ]
            return list_page(intents, params, "payment_intent", "/v1/payment_intents")

    def retrieve_intent(self, intent_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._intent(intent_id))

    def confirm_intent(self, intent_id: str, params: JsonObject, request: RequestRef) -> JsonObject:
        reject_unknown(params, CONFIRM_PARAMS)
        capture_method = enum_param(params, "capture_method", CAPTURE_METHODS)
        with self._store.lock:
            intent = self._intent(intent_id)
            if capture_method is not None and intent["status"] in objects.CONFIRMABLE_STATUSES:
                intent["capture_method"] = capture_method
            return self._attempt(intent, string_param(params, "payment_method"), request)

    def capture_intent(self, intent_id: str, params: JsonObject, request: RequestRef) -> JsonObject:
        """``POST /v1/payment_intents/:id/capture``: see ``stripe_authorizations``."""
        reject_unknown(params, CAPTURE_PARAMS)
        amount = positive_amount(params, "amount_to_capture")
        if boolean_param(params, "final_capture") is False:
            raise invalid_request(
                "The sandbox supports only final captures (multicapture is not enabled).",
                param="final_capture",
            )
        updates = metadata_param(params) if "metadata" in params else None
        with self._store.lock:
            intent = self._intent(intent_id)
            metadata = None
            if updates is not None:
                unset = {k for k, v in (params["metadata"] or {}).items() if v == ""}
                kept = {k: v for k, v in intent["metadata"].items() if k not in unset}
                metadata = {**kept, **updates}
            return self._authorizations.capture(intent, amount, metadata, request)

    def expire_authorizations(self) -> list[str]:
        """Cancel intents left uncaptured for 7 days by the sandbox clock; returns their ids."""
        return self._authorizations.expire_due()

    def cancel_intent(self, intent_id: str, params: JsonObject, request: RequestRef) -> JsonObject:
        reject_unknown(params, CANCEL_PARAMS)
        reason = enum_param(params, "cancellation_reason", CANCELLATION_REASONS)
        with self._store.lock:
            intent = self._intent(intent_id)
            if intent["status"] not in objects.CANCELABLE_STATUSES:
                raise unexpected_state(
                    "You cannot cancel this PaymentIntent because it has a status of "
                    f"{intent['status']}. Only a PaymentIntent with one of the following "
                    f"statuses may be canceled: {', '.join(objects.CANCELABLE_STATUSES)}."
                )
            if intent["status"] == "requires_capture":
                self._authorizations.void(intent, request)
            intent["status"] = "canceled"
            intent["canceled_at"] = objects.now()
            intent["cancellation_reason"] = reason
            self._events.emit("payment_intent.canceled", intent, request)
            return copy.deepcopy(intent)

    def _intent(self, intent_id: str) -> JsonObject:
        intent = self._store.stripe.payment_intents.get(intent_id)
        if intent is None:
            raise resource_missing("payment_intent", intent_id, "intent")
        # Stripe never shows an authorization past its 7 days as still capturable.
        self._authorizations.expire_if_due(intent)
        return intent

    def _resolve_card(self, payment_method: str) -> TestCard:
        card = objects.TEST_CARDS.get(payment_method)
        if card is None:
            card = self._store.stripe.payment_method_cards.get(payment_method)
        if card is None:
            raise resource_missing("PaymentMethod", payment_method, "payment_method")
        return card

    def _attempt(
        self, intent: JsonObject, payment_method: str | None, request: RequestRef
    ) -> JsonObject:
        """Confirm ``intent``: one charge attempt, succeeding or declined as the card says."""
        status = intent["status"]
        if status == "succeeded":
            raise unexpected_state(
                "You cannot confirm this PaymentIntent because it has already succeeded "
                "after being previously confirmed."
            )
        if status not in objects.CONFIRMABLE_STATUSES:
            raise unexpected_state(
                f"You cannot confirm this PaymentIntent because it has a status of {status}."
            )
        token = payment_method or intent["payment_method"]
        if token is None:
            raise unexpected_state(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "Update the PaymentIntent with a payment method and then confirm it again."
            )
        card = self._resolve_card(token)
        method = self._payment_method_for(token, card)
        manual = intent["capture_method"] == "manual"
        charge = objects.charge(intent, method, card, capture=not manual)
        state = self._store.stripe
        state.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if card.declines:
            return self._decline(intent, charge, method, card, request)
        if manual:
            intent.update(payment_method=method["id"], last_payment_error=None)
            self._authorizations.authorize(intent, charge, request)
            return copy.deepcopy(intent)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            payment_method=method["id"],
            last_payment_error=None,
        )
        self._events.emit("charge.succeeded", charge, request)
        self._events.emit("payment_intent.succeeded", intent, request)
        return copy.deepcopy(intent)

    def _payment_method_for(self, token: str, card: TestCard) -> JsonObject:
        state = self._store.stripe
        if token in state.payment_methods:
            return state.payment_methods[token]
        method = objects.payment_method(card)
        state.payment_methods[method["id"]] = method
        state.payment_method_cards[method["id"]] = card
        return method

    def _decline(
        self,
        intent: JsonObject,
        charge: JsonObject,
        method: JsonObject,
        card: TestCard,
        request: RequestRef,
    ) -> JsonObject:
        error = objects.card_error(charge["id"], copy.deepcopy(method), card)
        intent.update(status="requires_payment_method", payment_method=None)
        intent["last_payment_error"] = error
        self._events.emit("charge.failed", charge, request)
        self._events.emit("payment_intent.payment_failed", intent, request)
        body = {**error, "payment_intent": copy.deepcopy(intent)}
        raise StripeApiError(402, body, saves_idempotency=True)

    # -- Refunds ---------------------------------------------------------------------------

    def create_refund(self, params: JsonObject, request: RequestRef) -> JsonObject:
        reject_unknown(params, REFUND_PARAMS)
        amount = positive_amount(params, "amount")
        reason = enum_param(params, "reason", REFUND_REASONS)
        metadata = metadata_param(params)
        with self._store.lock:
            charge = self._refundable_charge(params)
            if blocks_refund(self._store, charge["id"]):
                raise invalid_request(
                    f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                    code="charge_disputed",
                )
            # ``amount_refunded`` includes what a partial capture released, so what is left
            # to refund is the charge's amount less it.
            remaining = charge["amount"] - charge["amount_refunded"]
            if remaining <= 0:
                raise invalid_request(
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            if amount is None:
                amount = remaining
            if amount > remaining:
                currency = charge["currency"]
                raise invalid_request(
                    f"Refund amount ({objects.format_amount(amount, currency)}) is greater "
                    f"than unrefunded amount on charge "
                    f"({objects.format_amount(remaining, currency)})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = objects.refund(charge, amount, reason, metadata)
            self._store.stripe.refunds[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self._events.emit("refund.created", refund, request)
            self._events.emit("charge.refunded", charge, request)
            answer = copy.deepcopy(refund)
            self._settle_refund(refund, request)
            return answer

    def _settle_refund(self, refund: JsonObject, request: RequestRef) -> None:
        """The acquirer reference arrives: Stripe sends ``refund.updated``."""
        card = refund["destination_details"]["card"]
        previous = {
            "destination_details": {"card": {"reference": None, "reference_status": "pending"}}
        }
        card["reference"] = random_token(23)
        card["reference_status"] = "available"
        self._events.emit("refund.updated", refund, request, previous_attributes=previous)

    def _refundable_charge(self, params: JsonObject) -> JsonObject:
        state = self._store.stripe
        intent_id = string_param(params, "payment_intent")
        charge_id = string_param(params, "charge")
        if intent_id is None and charge_id is None:
            raise missing_param("payment_intent")
        if intent_id is not None:
            intent = state.payment_intents.get(intent_id)
            if intent is None:
                raise resource_missing("payment_intent", intent_id, "payment_intent")
            if intent["status"] == "requires_capture":
                raise _uncaptured(intent_id)
            if intent["status"] != "succeeded":
                raise invalid_request(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge "
                    "to refund.",
                    param="payment_intent",
                )
            charge_id = intent["latest_charge"]
        assert charge_id is not None
        charge = state.charges.get(charge_id)
        if charge is None:
            raise resource_missing("charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid_request(
                f"Charge {charge_id} has not succeeded and cannot be refunded.", param="charge"
            )
        if not charge["captured"] and not charge["refunded"]:
            raise _uncaptured(charge["payment_intent"])
        return charge

    def list_refunds(self, params: JsonObject) -> JsonObject:
        """``GET /v1/refunds``: newest first, filtered by ``charge`` or ``payment_intent``."""
        reject_unknown(params, (*LIST_PARAMS, "charge", "payment_intent"))
        charge_id = string_param(params, "charge")
        intent_id = string_param(params, "payment_intent")
        with self._store.lock:
            refunds = [
                r
                for r in reversed(self._store.stripe.refunds.values())
                if charge_id in (None, r["charge"]) and intent_id in (None, r["payment_intent"])
            ]
            return list_page(refunds, params, "refund", "/v1/refunds")

    def retrieve_refund(self, refund_id: str) -> JsonObject:
        with self._store.lock:
            refund = self._store.stripe.refunds.get(refund_id)
            if refund is None:
                raise resource_missing("refund", refund_id, "refund")
            return copy.deepcopy(refund)

    def list_charges(self, params: JsonObject) -> JsonObject:
        """``GET /v1/charges``: newest first, filtered by ``payment_intent`` or ``customer``."""
        reject_unknown(params, (*LIST_PARAMS, "customer", "payment_intent", "transfer_group"))
        intent_id = string_param(params, "payment_intent")
        customer = string_param(params, "customer")
        transfer_group = string_param(params, "transfer_group")
        with self._store.lock:
            charges = [
                c
                for c in reversed(self._store.stripe.charges.values())
                if intent_id in (None, c["payment_intent"])
                and customer in (None, c["customer"])
                and transfer_group in (None, c.get("transfer_group"))
            ]
            return list_page(charges, params, "charge", "/v1/charges")

    def retrieve_charge(self, charge_id: str) -> JsonObject:
        with self._store.lock:
            charge = self._store.stripe.charges.get(charge_id)
            if charge is None:
                raise resource_missing("charge", charge_id, "charge")
            return copy.deepcopy(charge)


def _uncaptured(intent_id: str) -> StripeApiError:
    return invalid_request(
        f"This uncaptured Charge was created by a PaymentIntent ({intent_id}). You must cancel "
        "the PaymentIntent to reverse the authorization instead of refunding the Charge "
        "directly. For more information, see "
        "https://stripe.com/docs/payments/payment-intents/creating-payment-intents"
        "#separate-auth-capture"
    )
