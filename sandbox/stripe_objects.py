"""Stripe API objects as the API (version ``endive``) renders them, and the test cards."""

from __future__ import annotations

import time
from typing import Any

from .ids import random_token, stripe_id
from .store import JsonObject, TestCard

_VISA = TestCard("visa", "4242")
_GENERIC_DECLINE = TestCard(
    "visa",
    "0002",
    decline_code="generic_decline",
    error_code="card_declined",
    message="Your card was declined.",
)

# Stripe's test PaymentMethod tokens (docs.stripe.com/testing) and how each one ends.
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": _VISA,
    "pm_card_visa_debit": TestCard("visa", "5556", funding="debit"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_chargeDeclined": _GENERIC_DECLINE,
    "pm_card_visa_chargeDeclined": _GENERIC_DECLINE,
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "visa",
        "9995",
        decline_code="insufficient_funds",
        error_code="card_declined",
        message="Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedLostCard": TestCard(
        "visa",
        "9987",
        decline_code="lost_card",
        error_code="card_declined",
        message="Your card was declined.",
    ),
    "pm_card_chargeDeclinedStolenCard": TestCard(
        "visa",
        "9979",
        decline_code="stolen_card",
        error_code="card_declined",
        message="Your card was declined.",
    ),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "visa",
        "0069",
        decline_code="expired_card",
        error_code="expired_card",
        message="Your card has expired.",
    ),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard(
        "visa",
        "0127",
        decline_code="incorrect_cvc",
        error_code="incorrect_cvc",
        message="Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": TestCard(
        "visa",
        "0119",
        decline_code="processing_error",
        error_code="processing_error",
        message="An error occurred while processing your card. Try again in a little bit.",
    ),
}

CANCELABLE_STATUSES = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CONFIRMABLE_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def now() -> int:
    return int(time.time())


def payment_intent(
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    payment_method_types: list[str],
    automatic_payment_methods: bool,
    receipt_email: str | None = None,
    statement_descriptor: str | None = None,
) -> JsonObject:
    intent_id = stripe_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "allowed_payment_method_types": None if automatic_payment_methods else payment_method_types,
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True}
        if automatic_payment_methods
        else None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{random_token(25)}",
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def _card_details(card: TestCard) -> JsonObject:
    return {
        "brand": card.brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "exp_month": 12,
        "exp_year": time.gmtime().tm_year + 3,
        "fingerprint": random_token(16),
        "funding": card.funding,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "wallet": None,
    }


def _billing_details() -> JsonObject:
    return {
        "address": {
            "city": None,
            "country": None,
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }


def payment_method(card: TestCard) -> JsonObject:
    return {
        "id": stripe_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": _billing_details(),
        "card": _card_details(card),
        "created": now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def charge(
    intent: JsonObject, method: JsonObject, card: TestCard, *, capture: bool = True
) -> JsonObject:
    """The charge one confirmation attempt makes: succeeded, or failed with the card's decline.

    Without ``capture`` (a manual-capture intent) a succeeded charge only holds the funds:
    paid, but not captured, and no balance transaction yet.
    """
    declined = card.declines
    captured = capture and not declined
    amount = intent["amount"]
    card_details = dict(method["card"])
    return {
        "id": stripe_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": stripe_id("txn") if captured else None,
        "billing_details": _billing_details(),
        "calculated_statement_descriptor": "SANDBOX",
        "captured": captured,
        "created": now(),
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": card.error_code,
        "failure_message": card.message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": _outcome(card),
        "paid": not declined,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {"card": card_details, "type": "card"},
        "presentment_details": None,
        "radar_options": {},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{random_token(40)}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": intent["statement_descriptor"],
        "statement_descriptor_suffix": None,
        "status": "failed" if declined else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def _outcome(card: TestCard) -> JsonObject:
    if card.declines:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network",
            "reason": card.decline_code,
            "risk_level": "normal",
            "risk_score": 42,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 21,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


def card_error(charge_id: str, method: JsonObject, card: TestCard) -> JsonObject:
    """The error object of a declined card (also the intent's ``last_payment_error``)."""
    code = card.error_code or "card_declined"
    return {
        "charge": charge_id,
        "code": code,
        "decline_code": card.decline_code,
        "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
        "message": card.message,
        "payment_method": method,
        "type": "card_error",
    }


def refund(
    charge_obj: JsonObject, amount: int, reason: str | None, metadata: dict[str, str]
) -> JsonObject:
    return {
        "id": stripe_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": stripe_id("txn"),
        "charge": charge_obj["id"],
        "created": now(),
        "currency": charge_obj["currency"],
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge_obj["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


DISPUTE_REASONS = (
    "bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated",
    "debit_not_authorized", "duplicate", "fraudulent", "general", "incorrect_account_details",
    "insufficient_funds", "noncompliant", "product_not_received", "product_unacceptable",
    "subscription_canceled", "unrecognized",
)  # fmt: skip
# Visa's reason codes for the common categories (docs.stripe.com/disputes/categories).
_VISA_REASON_CODES = {
    "fraudulent": "10.4",
    "duplicate": "12.6.1",
    "product_not_received": "13.1",
    "credit_not_processed": "13.6",
    "product_unacceptable": "13.3",
    "subscription_canceled": "13.2",
    "general": "13.7",
}
DISPUTE_FEE = 1500  # Stripe's chargeback fee, in the charge's minor unit for simplicity
DISPUTE_EVIDENCE_SECONDS = 21 * 86400
_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)  # fmt: skip


def dispute(charge_obj: JsonObject, amount: int, reason: str) -> JsonObject:
    """A card chargeback on ``charge_obj``, waiting for the merchant's evidence."""
    created = now()
    card = charge_obj["payment_method_details"]["card"]
    reason_code = _VISA_REASON_CODES.get(reason) if card["brand"] == "visa" else None
    evidence: dict[str, Any] = dict.fromkeys(_EVIDENCE_FIELDS)
    evidence["enhanced_evidence"] = {}
    return {
        "id": stripe_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": created + DISPUTE_EVIDENCE_SECONDS,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": reason_code,
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network": card["brand"],
                "network_reason_code": reason_code,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def dispute_balance_transaction(dispute_obj: JsonObject, *, withdrawal: bool) -> JsonObject:
    """The money a dispute moves: withdrawn (with the fee) when opened, reinstated when won."""
    amount = -dispute_obj["amount"] if withdrawal else dispute_obj["amount"]
    fee = DISPUTE_FEE if withdrawal else 0
    currency = dispute_obj["currency"]
    created = now()
    kind = "withdrawal" if withdrawal else "reversal"
    return {
        "id": stripe_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86400,
        "created": created,
        "currency": currency,
        "description": f"Chargeback {kind} for {dispute_obj['charge']}",
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        "net": amount - fee,
        "reporting_category": "dispute" if withdrawal else "dispute_reversal",
        "source": dispute_obj["id"],
        "status": "pending",
        "type": "adjustment",
    }


def event(
    *,
    event_type: str,
    data_object: JsonObject,
    api_version: str,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: JsonObject | None = None,
) -> JsonObject:
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": stripe_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def list_object(url: str, data: list[JsonObject], has_more: bool) -> JsonObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def format_amount(amount: int, currency: str) -> str:
    """How Stripe writes money in error messages: ``$1.00``, ``₹10.00``, ``1.00 chf``."""
    symbols = {"usd": "$", "eur": "€", "gbp": "£", "inr": "₹", "jpy": "¥"}
    zero_decimal = currency in {"jpy", "krw", "vnd", "clp", "ugx", "xof", "xaf"}
    value = str(amount) if zero_decimal else f"{amount / 100:.2f}"
    symbol = symbols.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"
