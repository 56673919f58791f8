"""PaymentIntents created over the lean keep-alive HTTP client (adr/0023), without the SDK.

It sends what stripe-python sends for the same create, byte for byte where it matters:
``Authorization: Bearer``, the ``Stripe-Version`` the SDK pins, the payment id as
``Idempotency-Key``, and the SDK's form encoding (``metadata[orderId]=...``,
``allowed_payment_method_types[0]=card``, brackets left unescaped) of the same parameters
(``intent_params``, shared with the SDK adapter). So a retry may go either way and Stripe
replays the first answer: the same key with other parameters would be refused.

Errors are classified as the SDK adapter's ``translate`` does: no answer is transient, and so
are 409 (a concurrent request with the same key), 429 and 5xx; any other status that is not
2xx, or a 2xx Stripe's JSON cannot be read from, is permanent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote_plus
from uuid import UUID

from application.ports import (
    Evidence,
    EvidenceSink,
    PermanentProviderError,
    ProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    TransientProviderError,
)
from domain import Provider
from infrastructure.payments.keepalive import Answer, Http, Unreachable
from infrastructure.payments.minor_units import STRIPE_UNITS

STRIPE_API = "https://api.stripe.com"
PROVIDER = Provider.STRIPE.value


def engine_metadata(order_id: UUID, payment_id: UUID, customer_id: str | None) -> dict[str, str]:
    """What the engine tags its intents and sessions with: how a webhook finds the payment."""
    metadata = {"orderId": str(order_id), "paymentId": str(payment_id)}
    if customer_id is not None:
        metadata["customerId"] = customer_id
    return metadata


def intent_params(request: ProviderOrderRequest) -> dict[str, Any]:
    """A payment's PaymentIntent, as both the lean client and the SDK adapter create it."""
    params: dict[str, Any] = {
        "amount": STRIPE_UNITS.to_provider(request.amount, request.currency),
        "currency": request.currency.lower(),
        "allowed_payment_method_types": ["card"],  # what stripe.confirmCardPayment takes
        "metadata": engine_metadata(request.order_id, request.payment_id, request.customer_id),
    }
    if request.capture == "manual":
        # Confirming only authorizes (requires_capture); the operator's capture takes it.
        params["capture_method"] = "manual"
    return params


def form_encoded(params: Mapping[str, Any]) -> str:
    """stripe-python's encoding of ``params`` (its ``_api_encode``, then ``urlencode`` with
    ``[`` and ``]`` put back): the same body the SDK would send.

    Most names and values (ids, amounts, currencies, ``metadata[orderId]``) need no
    escaping, so they skip ``quote_plus``, which cost a fifth of a create's client CPU."""
    return "&".join(
        f"{_escaped(str(name))}={_escaped(str(value))}" for name, value in _pairs(params)
    )


_PLAIN = re.compile(r"[A-Za-z0-9_.~\[\]-]*")  # what urlencode leaves as it is, and brackets


def _escaped(text: str) -> str:
    if _PLAIN.fullmatch(text):
        return text
    return quote_plus(text).replace("%5B", "[").replace("%5D", "]")


def _pairs(params: Mapping[str, Any], prefix: str | None = None) -> Iterator[tuple[str, Any]]:
    """stripe-python's ``_api_encode``, rule for rule: a list's plain items go as they are
    (``False`` and ``None`` included); a mapping's values are dropped when None and lowered
    when bool, and a list inside a list is encoded as a mapping of its indexes."""
    for name, value in params.items():
        key = name if prefix is None else f"{prefix}[{name}]"
        if value is None:
            continue
        if isinstance(value, Mapping):
            yield from _pairs(value, key)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from _pairs(item, f"{key}[{index}]")
                elif isinstance(item, list | tuple):  # a list in a list goes as a mapping
                    yield from _pairs({str(i): v for i, v in enumerate(item)}, f"{key}[{index}]")
                else:
                    yield f"{key}[{index}]", item
        elif isinstance(value, bool):
            yield key, str(value).lower()
        else:
            yield key, value


class StripeIntents:
    """The lean ``OrderCreator`` for Stripe (infrastructure.payments.lean_http)."""

    def __init__(
        self, http: Http, api_key: str, api_version: str, api_base: str | None = None
    ) -> None:
        self._http = http
        self._url = f"{(api_base or STRIPE_API).rstrip('/')}/v1/payment_intents"
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Stripe-Version": api_version,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def create_order(
        self, request: ProviderOrderRequest, sink: EvidenceSink | None
    ) -> ProviderOrder:
        params = intent_params(request)
        key = str(request.payment_id)
        # The SDK adapter's evidence of the same call, so both read alike (adr/0016).
        sent = {"params": params, "idempotency_key": key}
        answer: dict[str, Any] | None = None
        try:
            answer = self._post(form_encoded(params), key)
        except ProviderError as exc:
            if sink is not None:
                sink(Evidence.of_call(PROVIDER, "create_order", None, sent, None, exc.reason))
            raise
        intent_id = str(answer.get("id") or "")
        if sink is not None:
            sink(Evidence.of_call(PROVIDER, "create_order", intent_id or None, sent, answer))
        if not intent_id:
            raise PermanentProviderError("stripe answered a payment intent with no id")
        secret = answer.get("client_secret")
        return ProviderOrder(intent_id, intent_id, str(secret) if secret else None)

    def _post(self, body: str, idempotency_key: str) -> dict[str, Any]:
        headers = {**self._headers, "Idempotency-Key": idempotency_key}
        try:
            response = self._http.request("POST", self._url, body=body.encode(), headers=headers)
        except Unreachable as exc:
            raise TransientProviderError(f"stripe unreachable: {exc}") from None
        return answer_of(response)


def answer_of(response: Answer) -> dict[str, Any]:
    """Stripe's JSON object, or the ProviderError the SDK adapter would raise for it."""
    status = response.status
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if isinstance(body, dict):
            return body
        raise PermanentProviderError(f"Invalid response body from API (HTTP {status})")
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    message = str(message or f"Invalid response object from API (HTTP {status})")
    if status in (409, 429) or status >= 500:
        raise TransientProviderError(f"stripe answered {status}: {message}")
    raise PermanentProviderError(message)
