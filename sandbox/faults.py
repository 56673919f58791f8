"""Injected API failures: error statuses and slow answers, for a bounded number of calls."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import asdict, dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .ids import random_token

_PROVIDER_MOUNTS = {"/stripe": "stripe", "/razorpay": "razorpay"}


@dataclass
class FaultRule:
    """Matches calls whose path (with or without the provider mount) starts with ``path_prefix``.

    ``status`` answers with that HTTP status in the provider's error shape; ``delay_seconds``
    stalls the call first (then answers normally unless ``status`` is set). ``count`` is how many
    calls it applies to (``None``: until cleared).
    """

    path_prefix: str
    status: int | None = None
    delay_seconds: float = 0.0
    count: int | None = 1
    method: str | None = None
    provider: str | None = None
    id: str = ""
    applied: int = 0

    def matches(self, provider: str, method: str, full_path: str, api_path: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return full_path.startswith(self.path_prefix) or api_path.startswith(self.path_prefix)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        rule.id = f"fault_{random_token(10)}"
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, object]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def take(self, provider: str, method: str, full_path: str, api_path: str) -> FaultRule | None:
        """The first rule matching this call, counted as applied once more."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(provider, method, full_path, api_path):
                    rule.applied += 1
                    if rule.count is not None and rule.applied >= rule.count:
                        self._rules.remove(rule)
                    return rule
        return None


class FaultMiddleware:
    """ASGI middleware in front of the provider mounts that applies matching fault rules."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self._app = app
        self._injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        for mount, provider in _PROVIDER_MOUNTS.items():
            if path.startswith(mount + "/"):
                api_path = path[len(mount) :]
                rule = self._injector.take(provider, scope["method"], path, api_path)
                if rule is not None:
                    if rule.delay_seconds > 0:
                        # Take the whole request first: a client that times out meanwhile has
                        # still delivered it, and the provider goes on to process it.
                        receive = await _buffered(receive)
                        await asyncio.sleep(rule.delay_seconds)
                    if rule.status is not None:
                        await _send_fault(send, provider, rule.status)
                        return
                break
        await self._app(scope, receive, send)


async def _buffered(receive: Receive) -> Receive:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_fault(send: Send, provider: str, status: int) -> None:
    body = json.dumps(_fault_body(provider, status)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _fault_body(provider: str, status: int) -> dict[str, object]:
    if provider == "stripe":
        if status >= 500:
            error = {
                "type": "api_error",
                "message": "An unknown error occurred (sandbox fault injection).",
            }
        elif status == 429:
            error = {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly (sandbox fault injection).",
            }
        else:
            error = {
                "type": "invalid_request_error",
                "message": "The request failed (sandbox fault injection).",
            }
        return {"error": error}
    code = "SERVER_ERROR" if status >= 500 else "BAD_REQUEST_ERROR"
    return {
        "error": {
            "code": code,
            "description": "The server encountered an error (sandbox fault injection).",
            "source": "NA",
            "step": "NA",
            "reason": "NA",
            "metadata": {},
            "field": None,
        }
    }
