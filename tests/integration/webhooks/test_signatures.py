"""Signature checks in the provider clients, against the SDKs' own signing and checks."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import razorpay
import stripe

from application.webhook_deliveries import InvalidSignature, RejectReason
from infrastructure.payments.razorpay.client import payment_signature_matches
from infrastructure.payments.razorpay.client import verify_webhook as verify_razorpay
from infrastructure.payments.stripe.client import verify_webhook as verify_stripe
from sandbox.webhook_signing import razorpay_signature

SECRET = "whsec_integration"
BODY = b'{"id": "evt_1", "object": "event", "type": "charge.succeeded"}'


def _stripe_header(body: bytes = BODY, secret: str = SECRET, age: int = 0) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, int(time.time()) - age
    )
    return header


def _refusal(check: Callable[[], None]) -> RejectReason:
    with pytest.raises(InvalidSignature) as caught:
        check()
    return caught.value.reason


def test_stripe_accepts_its_own_signature_within_the_tolerance() -> None:
    verify_stripe(BODY, _stripe_header(), SECRET)
    verify_stripe(BODY, _stripe_header(age=299), SECRET)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, RejectReason.MISSING),
        ("", RejectReason.MISSING),
        ("garbage", RejectReason.INVALID),
        ("t=123", RejectReason.INVALID),
    ],
)
def test_stripe_refuses_missing_or_unreadable_headers(
    header: str | None, reason: RejectReason
) -> None:
    assert _refusal(lambda: verify_stripe(BODY, header, SECRET)) is reason


def test_stripe_refuses_other_secrets_other_bytes_and_old_signatures() -> None:
    assert _refusal(lambda: verify_stripe(BODY, _stripe_header(secret="whsec_x"), SECRET)) is (
        RejectReason.INVALID
    )
    assert _refusal(lambda: verify_stripe(BODY + b" ", _stripe_header(), SECRET)) is (
        RejectReason.INVALID
    )
    assert _refusal(lambda: verify_stripe(BODY, _stripe_header(age=400), SECRET)) is (
        RejectReason.STALE
    )
    # A replayed old body with a fresh timestamp needs the secret to sign it.
    stale_header = _stripe_header(age=400)
    refreshed = stale_header.replace(stale_header.split(",")[0], f"t={int(time.time())}")
    assert _refusal(lambda: verify_stripe(BODY, refreshed, SECRET)) is RejectReason.INVALID


def test_stripe_refuses_a_body_that_is_not_utf8() -> None:
    body = b"\xff\xfe"
    header = f"t={int(time.time())},v1=00"
    assert _refusal(lambda: verify_stripe(body, header, SECRET)) is RejectReason.MALFORMED


def test_razorpay_webhooks_are_hmac_sha256_of_the_raw_body() -> None:
    signature = razorpay_signature(BODY, SECRET)
    verify_razorpay(BODY, signature, SECRET)
    assert razorpay.Utility(None).verify_webhook_signature(BODY.decode(), signature, SECRET)
    assert _refusal(lambda: verify_razorpay(BODY, None, SECRET)) is RejectReason.MISSING
    assert _refusal(lambda: verify_razorpay(BODY + b"\n", signature, SECRET)) is (
        RejectReason.INVALID
    )
    assert _refusal(lambda: verify_razorpay(BODY, "é" * 64, SECRET)) is RejectReason.INVALID


def test_razorpay_payment_proofs_match_what_the_sdk_verifies() -> None:
    key_secret = "rzp_key_secret"
    signature = razorpay_signature(b"order_A|pay_B", key_secret)
    client = razorpay.Client(auth=("rzp_test_key", key_secret))
    assert client.utility.verify_payment_signature(
        {
            "razorpay_order_id": "order_A",
            "razorpay_payment_id": "pay_B",
            "razorpay_signature": signature,
        }
    )

    assert payment_signature_matches("order_A", "pay_B", signature, key_secret)
    assert not payment_signature_matches("order_C", "pay_B", signature, key_secret)
    assert not payment_signature_matches("order_A", "pay_D", signature, key_secret)
    assert not payment_signature_matches("order_A", "pay_B", signature, "other_secret")
