"""The lean create clients put on the wire what the SDKs do, and read answers as they do.

Each side's HTTP is intercepted (a recording HTTP client under stripe-python, a recording
adapter under razorpay-python's session, a recording client in place of the lean clients'
keep-alive client),
so the very requests are compared, and the same canned answers are handed to both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
import requests
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter

from application.ports import (
    Evidence,
    PaymentGateway,
    PermanentProviderError,
    ProviderError,
    ProviderOrderRequest,
    TransientProviderError,
)
from infrastructure.payments.keepalive import Answer
from infrastructure.payments.lean_http import USER_AGENT, LeanCreates
from infrastructure.payments.razorpay.client import RazorpayGateway, razorpay_client
from infrastructure.payments.razorpay.orders import RazorpayOrders
from infrastructure.payments.stripe.client import API_VERSION, StripeGateway
from infrastructure.payments.stripe.intents import StripeIntents, form_encoded

STRIPE_KEY = "sk_test_wire"
KEY_ID, KEY_SECRET = "rzp_test_Wire00000001", "wire_secret"
BASE = "http://provider.test"
INTENT = {"id": "pi_wire", "object": "payment_intent", "client_secret": "pi_wire_secret_x"}
ORDER = {"id": "order_Wire0000000001", "entity": "order", "receipt": "r", "created_at": 1}


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


@dataclass
class Answers:
    """What the provider answers, in turn (the last one again when they run out)."""

    replies: list[tuple[int, Any]]
    sent: list[Sent] = field(default_factory=list)

    def next(self, request: Sent) -> tuple[int, bytes]:
        self.sent.append(request)
        status, body = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return status, raw


class RecordingStripeHttp(stripe.HTTPClient):
    name = "recording"

    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self.answers = answers

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        body = (post_data or "").encode() if isinstance(post_data, str) else post_data or b""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        status, raw = self.answers.next(Sent(method.upper(), url, lowered, body))
        return raw.decode(), status, {"request-id": "req_wire"}

    def close(self) -> None:
        pass


class RecordingAdapter(BaseAdapter):
    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self.answers = answers

    def send(  # type: ignore[override]  # the session passes its options as keywords
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        body = request.body or b""
        lowered = {k.lower(): v for k, v in request.headers.items()}
        sent = Sent(
            str(request.method),
            str(request.url),
            lowered,
            body.encode() if isinstance(body, str) else body,
        )
        status, raw = self.answers.next(sent)
        response = requests.Response()
        response.status_code = status
        response._content = raw
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = str(request.url)
        return response

    def close(self) -> None:
        pass


@dataclass
class RecordingHttp:
    """The keep-alive client's interface; what it would put on the wire is recorded."""

    answers: Answers

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        if params:
            url = f"{url}?{urlencode(params)}"
        sent = {"user-agent": USER_AGENT, **{k.lower(): v for k, v in (headers or {}).items()}}
        status, raw = self.answers.next(Sent(method, url, sent, body or b""))
        return Answer(status, HTTPStatus(status).phrase, raw)


def lean_http(answers: Answers) -> RecordingHttp:
    return RecordingHttp(answers)


def request(first_attempt: bool = False) -> ProviderOrderRequest:
    return ProviderOrderRequest(
        uuid.uuid4(), uuid.uuid4(), 1250, "USD", "alice", first_attempt=first_attempt
    )


class Provider:
    replies: ClassVar[tuple[int, Any]]
    compared: ClassVar[tuple[str, ...]]

    def sdk(self, answers: Answers) -> PaymentGateway:
        raise NotImplementedError

    def lean(self, answers: Answers, sdk: PaymentGateway) -> PaymentGateway:
        raise NotImplementedError


class Stripe(Provider):
    compared = ("authorization", "stripe-version", "idempotency-key", "content-type")

    def sdk(self, answers: Answers) -> PaymentGateway:
        client = stripe.StripeClient(
            STRIPE_KEY,
            base_addresses={"api": f"{BASE}/stripe"},
            max_network_retries=0,
            http_client=RecordingStripeHttp(answers),
        )
        return StripeGateway(client)

    def lean(self, answers: Answers, sdk: PaymentGateway) -> PaymentGateway:
        intents = StripeIntents(lean_http(answers), STRIPE_KEY, API_VERSION, f"{BASE}/stripe")
        return LeanCreates(sdk, intents)


class Razorpay(Provider):
    compared = ("authorization", "content-type")

    def sdk(self, answers: Answers) -> PaymentGateway:
        client = razorpay_client(KEY_ID, KEY_SECRET, f"{BASE}/razorpay")
        client.session.mount("http://", RecordingAdapter(answers))
        return RazorpayGateway(client, KEY_ID)

    def lean(self, answers: Answers, sdk: PaymentGateway) -> PaymentGateway:
        orders = RazorpayOrders(lean_http(answers), KEY_ID, KEY_SECRET, f"{BASE}/razorpay")
        return LeanCreates(sdk, orders)


def sent_by(
    provider: Provider, replies: list[tuple[int, Any]], req: ProviderOrderRequest
) -> tuple[list[Sent], list[Sent], list[Evidence], list[Evidence]]:
    sdk_answers, lean_answers = Answers(list(replies)), Answers(list(replies))
    sdk = provider.sdk(sdk_answers)
    lean = provider.lean(lean_answers, provider.sdk(Answers([(500, {})])))
    sdk_evidence: list[Evidence] = []
    lean_evidence: list[Evidence] = []
    for gateway, evidence in ((sdk, sdk_evidence), (lean, lean_evidence)):
        assert isinstance(gateway, StripeGateway | RazorpayGateway | LeanCreates)
        gateway.with_evidence(evidence.append).create_order(req)
    return sdk_answers.sent, lean_answers.sent, sdk_evidence, lean_evidence


def test_a_stripe_create_sends_what_the_sdk_sends() -> None:
    req = request()
    sdk, lean, sdk_evidence, lean_evidence = sent_by(Stripe(), [(200, INTENT)], req)

    [by_sdk], [by_lean] = sdk, lean
    assert (by_lean.method, by_lean.url, by_lean.body) == (by_sdk.method, by_sdk.url, by_sdk.body)
    assert by_lean.body == (
        b"amount=1250&currency=usd&allowed_payment_method_types[0]=card"
        b"&metadata[orderId]="
        + str(req.order_id).encode()
        + b"&metadata[paymentId]="
        + str(req.payment_id).encode()
        + b"&metadata[customerId]=alice"
    )
    for name in Stripe.compared:
        assert by_lean.headers[name] == by_sdk.headers[name], name
    assert by_lean.headers["stripe-version"] == API_VERSION
    assert by_lean.headers["idempotency-key"] == str(req.payment_id)
    assert [e.body for e in lean_evidence] == [e.body for e in sdk_evidence]


def test_a_razorpay_create_sends_what_the_sdk_sends_and_looks_first_only_on_a_retry() -> None:
    req = request()
    listing = (200, {"entity": "collection", "count": 0, "items": []})
    sdk, lean, sdk_evidence, lean_evidence = sent_by(Razorpay(), [listing, (200, ORDER)], req)

    assert [(s.method, s.url, s.body) for s in lean] == [(s.method, s.url, s.body) for s in sdk]
    assert lean[0].url == f"{BASE}/razorpay/v1/orders?receipt={req.payment_id}&count=100"
    assert json.loads(lean[1].body) == {
        "amount": 1250,
        "currency": "USD",
        "receipt": str(req.payment_id),
        "notes": {"orderId": str(req.order_id), "paymentId": str(req.payment_id)},
    }
    for sent_sdk, sent_lean in zip(sdk, lean, strict=True):
        for name in Razorpay.compared:
            assert sent_lean.headers.get(name) == sent_sdk.headers.get(name), name
    assert [e.body for e in lean_evidence] == [e.body for e in sdk_evidence]

    first = Answers([(200, ORDER)])
    provider = Razorpay()
    provider.lean(first, provider.sdk(Answers([(500, {})]))).create_order(
        replace(req, first_attempt=True)
    )
    assert [s.method for s in first.sent] == ["POST"], "a first attempt creates at once"


def test_a_retried_razorpay_create_finds_the_order_an_earlier_attempt_made() -> None:
    req = request()
    earlier = dict(ORDER, receipt=str(req.payment_id))
    answers = Answers([(200, {"entity": "collection", "count": 1, "items": [earlier]})])
    provider = Razorpay()

    made = provider.lean(answers, provider.sdk(Answers([(500, {})]))).create_order(req)

    assert made.gateway_order_id == ORDER["id"]
    assert [s.method for s in answers.sent] == ["GET"]


STRIPE_ERROR = {"error": {"type": "invalid_request_error", "message": "No such thing."}}
RAZORPAY_ERROR = {"error": {"code": "BAD_REQUEST_ERROR", "description": "Bad amount."}}
ANSWERS: list[tuple[Provider, int, Any]] = [
    (provider, status, body)
    for provider, error in ((Stripe(), STRIPE_ERROR), (Razorpay(), RAZORPAY_ERROR))
    for status, body in [
        (400, error),
        (401, error),
        (404, error),
        (402, {"error": {}}),
        (409, error),
        (429, error),
        (500, error),
        (503, b"<html>busy</html>"),
        (400, b"not json"),
        (200, b"not json"),
    ]
]


@pytest.mark.parametrize(
    ("provider", "status", "body"),
    ANSWERS,
    ids=[
        f"{type(p).__name__}-{s}-{'raw' if isinstance(b, bytes) else 'json'}" for p, s, b in ANSWERS
    ],
)
def test_a_failed_create_is_classified_as_the_sdk_adapter_classifies_it(
    provider: Provider, status: int, body: Any
) -> None:
    req = request(first_attempt=True)
    if isinstance(provider, Razorpay):  # the SDK path always looks first
        listing = (200, {"entity": "collection", "count": 0, "items": []})
        sdk_replies = [listing, (status, body)]
    else:
        sdk_replies = [(status, body)]
    sdk_failure = _failure(provider.sdk(Answers(sdk_replies)), req)
    lean_failure = _failure(
        provider.lean(Answers([(status, body)]), provider.sdk(Answers([(500, {})]))), req
    )

    assert type(lean_failure) is type(sdk_failure)
    assert isinstance(lean_failure, TransientProviderError | PermanentProviderError)
    if isinstance(sdk_failure, PermanentProviderError) and body in (STRIPE_ERROR, RAZORPAY_ERROR):
        assert lean_failure.reason == sdk_failure.reason  # the provider's own message


def _failure(gateway: PaymentGateway, req: ProviderOrderRequest) -> ProviderError:
    with pytest.raises(ProviderError) as failed:
        gateway.create_order(req)
    return failed.value


_names = st.text(min_size=1, max_size=12)
_leaves = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none())
_params = st.dictionaries(
    _names,
    st.recursive(
        _leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
        max_leaves=8,
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(_params)
def test_the_lean_form_encoding_is_the_sdks_for_any_parameters(params: dict[str, Any]) -> None:
    from stripe._encode import _api_encode

    sdk = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")

    assert form_encoded(params) == sdk
