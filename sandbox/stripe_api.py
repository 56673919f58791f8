"""The Stripe REST API over HTTP: auth, form params, idempotency keys, expansion, errors."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import stripe_objects as objects
from .config import SandboxConfig
from .ids import stripe_request_id
from .store import IdempotentResult, JsonObject, SandboxStore
from .stripe_checkout import StripeCheckout
from .stripe_disputes import StripeDisputes
from .stripe_errors import (
    StripeApiError,
    authentication_failed,
    idempotency_error,
    invalid_request,
    unrecognized_url,
)
from .stripe_events import RequestRef, StripeEventLog
from .stripe_forms import decode_form, expand_param, reject_unknown
from .stripe_intents import StripeIntents

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
_RETRIEVE_PARAMS = ("expand",)


@dataclass(frozen=True)
class StripeCall:
    params: JsonObject
    ref: RequestRef
    base_url: str
    path_params: dict[str, str]

    @property
    def object_id(self) -> str:
        return self.path_params["id"]


Operation = Callable[[StripeCall], JsonObject]


class StripeApi:
    def __init__(
        self,
        store: SandboxStore,
        intents: StripeIntents,
        checkout: StripeCheckout,
        disputes: StripeDisputes,
        events: StripeEventLog,
        config: SandboxConfig,
    ) -> None:
        self._store = store
        self._intents = intents
        self._checkout = checkout
        self._disputes = disputes
        self._events = events
        self._config = config

    def routes(self) -> list[BaseRoute]:
        intents, checkout, disputes = self._intents, self._checkout, self._disputes

        def retrieve(fetch: Callable[[str], JsonObject]) -> Operation:
            def operation(call: StripeCall) -> JsonObject:
                reject_unknown(call.params, (*_RETRIEVE_PARAMS, "client_secret"))
                return fetch(call.object_id)

            return operation

        table: list[tuple[str, str, Operation]] = [
            ("POST", "/v1/payment_intents", lambda c: intents.create_intent(c.params, c.ref)),
            ("GET", "/v1/payment_intents", lambda c: intents.list_intents(c.params)),
            ("GET", "/v1/payment_intents/{id}", retrieve(intents.retrieve_intent)),
            (
                "POST",
                "/v1/payment_intents/{id}/confirm",
                lambda c: intents.confirm_intent(c.object_id, c.params, c.ref),
            ),
            (
                "POST",
                "/v1/payment_intents/{id}/capture",
                lambda c: intents.capture_intent(c.object_id, c.params, c.ref),
            ),
            (
                "POST",
                "/v1/payment_intents/{id}/cancel",
                lambda c: intents.cancel_intent(c.object_id, c.params, c.ref),
            ),
            ("GET", "/v1/charges", lambda c: intents.list_charges(c.params)),
            ("GET", "/v1/charges/{id}", retrieve(intents.retrieve_charge)),
            ("POST", "/v1/refunds", lambda c: intents.create_refund(c.params, c.ref)),
            ("GET", "/v1/refunds", lambda c: intents.list_refunds(c.params)),
            ("GET", "/v1/refunds/{id}", retrieve(intents.retrieve_refund)),
            (
                "POST",
                "/v1/checkout/sessions",
                lambda c: checkout.create_session(c.params, c.base_url),
            ),
            ("GET", "/v1/checkout/sessions", lambda c: checkout.list_sessions(c.params)),
            ("GET", "/v1/checkout/sessions/{id}", retrieve(checkout.retrieve_session)),
            (
                "GET",
                "/v1/checkout/sessions/{id}/line_items",
                lambda c: checkout.line_items(c.object_id),
            ),
            (
                "POST",
                "/v1/checkout/sessions/{id}/expire",
                lambda c: checkout.expire_session(c.object_id, c.params, c.ref),
            ),
            ("GET", "/v1/disputes", lambda c: disputes.list_disputes(c.params)),
            ("GET", "/v1/disputes/{id}", retrieve(disputes.retrieve)),
            (
                "POST",
                "/v1/disputes/{id}/close",
                lambda c: disputes.close(c.object_id, c.params, c.ref),
            ),
            ("GET", "/v1/events", lambda c: self._events.list_events(c.params)),
            ("GET", "/v1/events/{id}", retrieve(self._events.retrieve)),
        ]
        return [
            Route(path, self._endpoint(operation), methods=[method])
            for method, path, operation in table
        ]

    def _endpoint(self, operation: Operation) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self.handle(request, operation)

        return endpoint

    async def not_found(self, request: Request) -> Response:
        """Stripe's answer to a path or method it has no endpoint for."""
        error = unrecognized_url(request.method, _api_path(request))
        request_id = stripe_request_id()
        body = error.body(request_id, objects.now())
        return _json_response(body, error.status, {"Request-Id": request_id})

    async def handle(self, request: Request, operation: Operation) -> Response:
        request_id = stripe_request_id()
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get(
                "stripe-version", self._config.stripe_api_version
            ),
        }
        try:
            api_key = _api_key(request)
        except StripeApiError as exc:
            return _json_response(exc.body(request_id, objects.now()), exc.status, headers)
        is_post = request.method == "POST"
        raw = (await request.body()).decode() if is_post else request.url.query
        params = decode_form(raw)
        key = request.headers.get("idempotency-key") if is_post else None
        if key is not None:
            headers["Idempotency-Key"] = key
        call = StripeCall(
            params, RequestRef(request_id, key), self._base_url(request), request.path_params
        )
        path = _api_path(request)
        with self._store.lock:
            status, body, replayed = self._run(operation, call, api_key, request.method, path)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status, headers, media_type="application/json")

    def _run(
        self, operation: Operation, call: StripeCall, api_key: str, method: str, path: str
    ) -> tuple[int, bytes, bool]:
        """Answer ``call`` (the store lock held), replaying or saving under its idempotency key."""
        key = call.ref.idempotency_key
        fingerprint = hashlib.sha256(json.dumps(call.params, sort_keys=True).encode()).hexdigest()
        saved = self._store.stripe.idempotency.get((api_key, key)) if key else None
        try:
            if saved is not None:
                _check_reuse(saved, key or "", method, path, fingerprint)
                return saved.status, saved.body, True
            result = operation(call)
            result = self._expand(result, expand_param(call.params))
            status, body, save = 200, _dumps(result), True
        except StripeApiError as exc:
            error_body = exc.body(call.ref.request_id or "", objects.now())
            status, body, save = exc.status, _dumps(error_body), exc.saves_idempotency
        if key is not None and save:
            self._store.stripe.idempotency[(api_key, key)] = IdempotentResult(
                method, path, fingerprint, status, body
            )
        return status, body, False

    def _base_url(self, request: Request) -> str:
        if self._config.public_base_url:
            return self._config.public_base_url.rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    def _expand(self, value: JsonObject, paths: list[str]) -> JsonObject:
        for path in paths:
            _expand_path(self._store, value, path.split("."))
        return value


def _check_reuse(saved: IdempotentResult, key: str, method: str, path: str, fp: str) -> None:
    if (saved.method, saved.path) != (method, path):
        raise idempotency_error(
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{saved.path}' vs '{path}'). Try using a key other than "
            f"'{key}' if you meant to execute a different request."
        )
    if saved.fingerprint != fp:
        raise idempotency_error(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request."
        )


def _expand_path(store: SandboxStore, value: JsonObject, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "data" and isinstance(value.get("data"), list) and rest:
        for item in value["data"]:
            _expand_path(store, item, rest)
        return
    collections: dict[str, dict[str, JsonObject]] = {
        "latest_charge": store.stripe.charges,
        "charge": store.stripe.charges,
        "payment_intent": store.stripe.payment_intents,
        "payment_method": store.stripe.payment_methods,
    }
    if head not in value or (head not in collections and not isinstance(value[head], dict)):
        raise invalid_request(f"This property cannot be expanded ({head}).", param="expand")
    target = value[head]
    if isinstance(target, str) and head in collections:
        found = collections[head].get(target)
        if found is not None:
            target = copy.deepcopy(found)
            value[head] = target
    if rest and isinstance(target, dict):
        _expand_path(store, target, rest)


def _api_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise authentication_failed(_NO_KEY)
    scheme, _, credential = header.partition(" ")
    key = credential.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise authentication_failed("Invalid API Key provided.") from None
    elif scheme.lower() != "bearer":
        raise authentication_failed(_NO_KEY)
    if not key.startswith(("sk_test_", "rk_test_")):
        raise authentication_failed(f"Invalid API Key provided: {_mask(key)}")
    return key


def _mask(key: str) -> str:
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def _api_path(request: Request) -> str:
    path = request.url.path
    index = path.find("/v1/")
    return path[index:] if index >= 0 else path


def _dumps(value: JsonObject) -> bytes:
    return json.dumps(value, indent=2).encode()


def _json_response(value: JsonObject, status: int, headers: dict[str, str]) -> Response:
    return Response(_dumps(value), status, headers, media_type="application/json")
