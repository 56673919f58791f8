"""The gateway contract on the lean path: creates over the pooled HTTP client (the worker's
path in production), every other call through the SDK adapter, against the sandbox."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from application.ports import PaymentGateway, ProviderOrderRequest
from infrastructure.payments.keepalive import KeepAliveClient
from infrastructure.payments.lean_http import LeanCreates, pooled_client
from infrastructure.payments.razorpay.orders import RazorpayOrders
from infrastructure.payments.stripe.client import API_VERSION
from infrastructure.payments.stripe.intents import StripeIntents
from tests.integration.payments import test_razorpay_gateway, test_stripe_gateway
from tests.integration.payments.sandbox import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    STRIPE_KEY,
    ProviderSandbox,
)

_opened: list[KeepAliveClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def _client(timeout: float) -> KeepAliveClient:
    http = pooled_client(timeout)
    _opened.append(http)
    return http


def lean_stripe(
    sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
) -> LeanCreates:
    http = _client(timeout)
    intents = StripeIntents(http, STRIPE_KEY, API_VERSION, base or sandbox.stripe_base)
    return LeanCreates(sandbox.stripe_gateway(timeout, base), intents)


def lean_razorpay(
    sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
) -> LeanCreates:
    http = _client(timeout)
    orders = RazorpayOrders(
        http, RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, base or sandbox.razorpay_base
    )
    return LeanCreates(sandbox.razorpay_gateway(timeout, base), orders)


class TestLeanStripeGateway(test_stripe_gateway.TestStripeGateway):
    def make_gateway(
        self, sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway:
        return lean_stripe(sandbox, timeout, f"{base}/stripe" if base else None)


class TestLeanRazorpayGateway(test_razorpay_gateway.TestRazorpayGateway):
    def make_gateway(
        self, sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway:
        return lean_razorpay(sandbox, timeout, f"{base}/razorpay" if base else None)


def test_a_create_may_be_retried_over_the_other_path_and_stripe_replays_it(
    sandbox: ProviderSandbox,
) -> None:
    """Same key, same parameters, whichever client sends them: one intent, answered twice."""
    request = ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), 1250, "EUR", "alice")

    by_sdk = sandbox.stripe_gateway().create_order(request)
    by_lean = lean_stripe(sandbox).create_order(dataclasses.replace(request, first_attempt=True))

    assert by_lean == by_sdk
    assert [i["id"] for i in sandbox.stripe_intents_for(str(request.payment_id))] == [
        by_sdk.gateway_order_id
    ]


def test_a_razorpay_retry_over_the_lean_path_finds_the_sdks_order(
    sandbox: ProviderSandbox,
) -> None:
    request = ProviderOrderRequest(uuid.uuid4(), uuid.uuid4(), 19900, "INR")

    by_sdk = sandbox.razorpay_gateway().create_order(request)
    by_lean = lean_razorpay(sandbox).create_order(request)

    assert by_lean == by_sdk
    assert len(sandbox.razorpay_orders_for(str(request.payment_id))) == 1
