"""Checkout Sessions in payment mode, with the hosted page's Pay and Decline outcomes.

As in Stripe since API version 2022-08-01, a session has no PaymentIntent until the customer
submits the hosted page; the intent then carries ``payment_intent_data.metadata``. Each session
makes its own intent, so paying one does not care whether another intent for the same order
(the engine's own, say) has already been paid: both are captured, as in Stripe.

A session whose ``expires_at`` has passed on the sandbox clock expires (``checkout.session.expired``
once, its intent cancelled) as soon as anything touches it, or every session does when the clock
is moved on; an expired session cannot be paid.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from . import stripe_objects as objects
from .ids import random_token, stripe_checkout_session_id, stripe_id
from .store import JsonObject, SandboxStore
from .stripe_errors import StripeApiError, invalid_request, missing_param, resource_missing
from .stripe_events import AUTOMATIC, RequestRef, StripeEventLog
from .stripe_forms import (
    currency_param,
    enum_param,
    integer_param,
    metadata_param,
    positive_amount,
    reject_unknown,
    string_param,
)
from .stripe_intents import CAPTURE_METHODS, StripeIntents
from .stripe_lists import LIST_PARAMS, list_page

CREATE_PARAMS = (
    "adaptive_pricing", "after_expiration", "allow_promotion_codes",
    "allowed_payment_method_types", "automatic_tax", "billing_address_collection",
    "branding_settings", "cancel_url", "client_reference_id", "consent_collection", "currency",
    "custom_fields", "custom_text", "customer", "customer_account", "customer_creation",
    "customer_email", "customer_update", "discounts", "excluded_payment_method_types", "expand",
    "expires_at", "integration_identifier", "invoice_creation", "line_items", "locale",
    "managed_payments", "metadata", "mode", "name_collection", "optional_items",
    "origin_context", "payment_intent_data", "payment_method_collection",
    "payment_method_configuration", "payment_method_data", "payment_method_options",
    "payment_method_types", "permissions", "phone_number_collection", "redirect_on_completion",
    "return_url", "saved_payment_method_options", "setup_intent_data",
    "shipping_address_collection", "shipping_options", "submit_type", "subscription_data",
    "success_url", "tax_id_collection", "ui_mode", "wallet_options",
)  # fmt: skip
INTENT_DATA_PARAMS = (
    "application_fee_amount", "capture_method", "description", "metadata", "on_behalf_of",
    "receipt_email", "setup_future_usage", "shipping", "statement_descriptor",
    "statement_descriptor_suffix", "transfer_data", "transfer_group",
)  # fmt: skip
LIST_SESSION_PARAMS = (
    *LIST_PARAMS, "customer", "customer_account", "customer_details", "payment_intent",
    "payment_link", "status", "subscription",
)  # fmt: skip
SESSION_STATUSES = ("open", "complete", "expired")
Outcome = Literal["pay", "decline"]


class StripeCheckout:
    def __init__(self, store: SandboxStore, events: StripeEventLog, intents: StripeIntents):
        self._store = store
        self._events = events
        self._intents = intents

    def create_session(self, params: JsonObject, base_url: str) -> JsonObject:
        reject_unknown(params, CREATE_PARAMS)
        mode = string_param(params, "mode", required=True)
        if mode != "payment":
            raise invalid_request("The sandbox supports only mode=payment.", param="mode")
        if params.get("ui_mode") not in (None, "hosted"):
            raise invalid_request("The sandbox supports only ui_mode=hosted.", param="ui_mode")
        items = _line_items(params.get("line_items"))
        currency = items[0]["currency"]
        total = sum(item["amount_total"] for item in items)
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise invalid_request("Invalid object", param="payment_intent_data")
        reject_unknown(intent_data, INTENT_DATA_PARAMS)
        created = self._store.clock.now()
        expires_at = integer_param(params, "expires_at") or created + 86400
        if not created + 1800 <= expires_at <= created + 86400:
            raise invalid_request(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                param="expires_at",
            )
        session_id = stripe_checkout_session_id()
        session = _session(session_id, params, currency, total, created, expires_at)
        session["url"] = f"{base_url}/stripe/pay/{session_id}"
        with self._store.lock:
            state = self._store.stripe
            state.checkout_sessions[session_id] = session
            state.session_line_items[session_id] = items
            state.session_intent_data[session_id] = {
                "metadata": metadata_param(intent_data),
                "description": string_param(intent_data, "description"),
                "receipt_email": string_param(intent_data, "receipt_email"),
                "statement_descriptor": string_param(intent_data, "statement_descriptor"),
                "capture_method": enum_param(intent_data, "capture_method", CAPTURE_METHODS),
            }
            return copy.deepcopy(session)

    def retrieve_session(self, session_id: str) -> JsonObject:
        with self._store.lock:
            return copy.deepcopy(self._current(session_id))

    def list_sessions(self, params: JsonObject) -> JsonObject:
        """``GET /v1/checkout/sessions``: newest first, by intent, status, customer, link."""
        reject_unknown(params, LIST_SESSION_PARAMS)
        status = enum_param(params, "status", SESSION_STATUSES)
        details = params.get("customer_details")
        email = details.get("email") if isinstance(details, dict) else None
        wanted = {
            name: string_param(params, name)
            for name in ("payment_intent", "customer", "payment_link", "subscription")
        }
        with self._store.lock:
            self.expire_due()
            sessions = [
                s
                for s in reversed(self._store.stripe.checkout_sessions.values())
                if all(value in (None, s[name]) for name, value in wanted.items())
                and status in (None, s["status"])
                and (email is None or (s["customer_details"] or {}).get("email") == email)
            ]
            return list_page(sessions, params, "checkout.session", "/v1/checkout/sessions")

    def expire_due(self) -> list[str]:
        """Expire every open session whose ``expires_at`` has passed; their ids."""
        with self._store.lock:
            due = [
                s
                for s in self._store.stripe.checkout_sessions.values()
                if s["status"] == "open" and s["expires_at"] <= self._store.clock.now()
            ]
            for session in due:
                self._expire(session, AUTOMATIC)
            return [s["id"] for s in due]

    def expire_now(self, session_id: str) -> JsonObject:
        """Test control: the session's time runs out now, as if ``expires_at`` had come."""
        with self._store.lock:
            session = self._current(session_id)
            if session["status"] != "open":
                raise invalid_request(
                    f"This Checkout Session is {session['status']}; only an open one can expire."
                )
            session["expires_at"] = min(session["expires_at"], self._store.clock.now())
            self._expire(session, AUTOMATIC)
            return copy.deepcopy(session)

    def line_items(self, session_id: str) -> JsonObject:
        with self._store.lock:
            self._current(session_id)
            items = copy.deepcopy(self._store.stripe.session_line_items[session_id])
        return objects.list_object(f"/v1/checkout/sessions/{session_id}/line_items", items, False)

    def expire_session(
        self, session_id: str, params: JsonObject, request: RequestRef
    ) -> JsonObject:
        reject_unknown(params, ("expand",))
        with self._store.lock:
            session = self._current(session_id)
            if session["status"] != "open":
                raise invalid_request(
                    f"This Checkout Session has a status of {session['status']} and can no "
                    "longer be expired. Only Checkout Sessions with a status of open can be "
                    "expired.",
                    param="session",
                )
            self._expire(session, request)
            return copy.deepcopy(session)

    def _expire(self, session: JsonObject, request: RequestRef) -> None:
        """Close ``session``: its intent (if any, and still open) is cancelled as abandoned."""
        intent_id = session["payment_intent"]
        if intent_id is not None:
            intent = self._store.stripe.payment_intents[intent_id]
            if intent["status"] in objects.CANCELABLE_STATUSES:
                self._intents.cancel_intent(
                    intent_id, {"cancellation_reason": "abandoned"}, request
                )
        session.update(status="expired", url=None)
        self._events.emit("checkout.session.expired", session, request)

    def submit(self, session_id: str, outcome: Outcome) -> JsonObject:
        """The customer presses Pay or Decline on the hosted page; returns the session after."""
        with self._store.lock:
            session = self._current(session_id)
            if session["status"] != "open":
                raise invalid_request(
                    f"This Checkout Session is {session['status']} and can no longer be paid."
                )
            intent_id = session["payment_intent"] or self._open_intent(session)
            token = "pm_card_visa" if outcome == "pay" else "pm_card_chargeDeclined"
            try:
                self._intents.confirm_intent(intent_id, {"payment_method": token}, AUTOMATIC)
            except StripeApiError as exc:
                if exc.status != 402:
                    raise
                return copy.deepcopy(session)
            # A manual-capture payment is only authorized: the session is complete but unpaid.
            intent = self._store.stripe.payment_intents[intent_id]
            paid = intent["status"] == "succeeded"
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                url=None,
                customer_details=_customer_details(session["customer_email"]),
            )
            self._events.emit("checkout.session.completed", session, AUTOMATIC)
            return copy.deepcopy(session)

    def _open_intent(self, session: JsonObject) -> str:
        data = self._store.stripe.session_intent_data[session["id"]]
        params: dict[str, Any] = {
            "amount": str(session["amount_total"]),
            "currency": session["currency"],
            "metadata": data["metadata"],
        }
        for name in ("description", "receipt_email", "statement_descriptor", "capture_method"):
            if data[name] is not None:
                params[name] = data[name]
        intent = self._intents.create_intent(params, AUTOMATIC)
        session["payment_intent"] = intent["id"]
        return str(intent["id"])

    def _current(self, session_id: str) -> JsonObject:
        """The session, expired first if its time is up: Stripe never shows an overdue one open."""
        session = self._store.stripe.checkout_sessions.get(session_id)
        if session is None:
            raise resource_missing("checkout.session", session_id, "session")
        if session["status"] == "open" and session["expires_at"] <= self._store.clock.now():
            self._expire(session, AUTOMATIC)
        return session


def _line_items(raw: Any) -> list[JsonObject]:
    if raw is None or raw == "":
        raise missing_param("line_items")
    if not isinstance(raw, list) or not raw:
        raise invalid_request("Invalid array", param="line_items")
    items = [_line_item(entry, f"line_items[{i}]") for i, entry in enumerate(raw)]
    if len({item["currency"] for item in items}) > 1:
        raise invalid_request("All line items must use the same currency.", param="line_items")
    return items


def _line_item(entry: Any, param: str) -> JsonObject:
    if not isinstance(entry, dict):
        raise invalid_request("Invalid object", param=param)
    if "price" in entry:
        raise resource_missing("price", str(entry["price"]), f"{param}[price]")
    price_data = entry.get("price_data")
    if not isinstance(price_data, dict):
        raise missing_param(f"{param}[price_data]")
    quantity = positive_amount(entry, "quantity", required=True)
    unit_amount = integer_param(price_data, "unit_amount", required=True)
    assert quantity is not None
    assert unit_amount is not None
    currency = currency_param(price_data)
    product = price_data.get("product_data")
    name = product.get("name") if isinstance(product, dict) else None
    if not name and not price_data.get("product"):
        raise missing_param(f"{param}[price_data][product_data][name]")
    description = str(name or price_data.get("product"))
    total = unit_amount * quantity
    return {
        "id": f"li_{random_token(24)}",
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": total,
        "amount_tax": 0,
        "amount_total": total,
        "currency": currency,
        "description": description,
        "price": {
            "id": stripe_id("price"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": objects.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": price_data.get("product") or stripe_id("prod"),
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
    }


def _customer_details(email: str | None) -> JsonObject:
    return {
        "address": {
            "city": None,
            "country": "US",
            "line1": None,
            "line2": None,
            "postal_code": "42424",
            "state": None,
        },
        "business_name": None,
        "email": email or "customer@example.com",
        "individual_name": None,
        "name": "Sandbox Customer",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def _session(
    session_id: str,
    params: JsonObject,
    currency: str,
    total: int,
    created: int,
    expires_at: int,
) -> JsonObject:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": string_param(params, "cancel_url"),
        "client_reference_id": string_param(params, "client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": string_param(params, "customer_email"),
        "discounts": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": string_param(params, "locale"),
        "metadata": metadata_param(params),
        "mode": "payment",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": string_param(params, "success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }
