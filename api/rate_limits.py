"""Rate limits: customer-facing writes per customer (`sub`) and per client IP, reads per IP.

Moving windows (the `limits` library) so a burst at a window edge cannot double the rate.
Storage is in memory, so every counter is per API process: with N API processes behind a
load balancer a client gets up to N times the configured rate. A shared storage (Redis)
would make the limits global; it is not needed at the current scale.

Reads and writes count separately: a frontend polling its payment does not use up the
writes its customer may still make. Operations endpoints (health, metrics, the OpenAPI
document) are not limited: probes and scrapers must always get through.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from api.auth import Principal, authenticate, require_customer
from api.problems import Problem

OFF = "off"


def _parse(limit: str) -> RateLimitItem | None:
    return None if limit.strip().lower() == OFF else parse(limit)


class RateLimits:
    def __init__(self, per_customer: str, per_ip: str, reads_per_ip: str = OFF) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_customer = _parse(per_customer)
        self._per_ip = _parse(per_ip)
        self._reads_per_ip = _parse(reads_per_ip)

    def check_ip(self, address: str) -> None:
        self._hit(self._per_ip, "ip", address)

    def check_customer(self, subject: str) -> None:
        self._hit(self._per_customer, "customer", subject)

    def check_read(self, address: str) -> None:
        self._hit(self._reads_per_ip, "ip", address, counter="read-ip")

    def _hit(
        self, item: RateLimitItem | None, scope: str, identity: str, counter: str = ""
    ) -> None:
        counter = counter or scope
        if item is None or self._limiter.hit(item, counter, identity):
            return
        stats = self._limiter.get_window_stats(item, counter, identity)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise Problem(
            429,
            "Too Many Requests",
            f"Rate limit of {item} per {scope} exceeded; retry in {retry_after} s.",
            kind="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate_write(request: Request) -> Principal:
    """Authenticate a customer-facing write and count it against both write limits.

    The IP limit is checked before the token, so floods of bad tokens are limited too.
    Read-only tokens (service, auditor) are refused before they count as a customer.
    """
    limits: RateLimits = request.app.state.rate_limits
    limits.check_ip(_client(request))
    principal = require_customer(authenticate(request))
    limits.check_customer(principal.subject)
    return principal


def limit_read(request: Request) -> None:
    """Count a read against the client IP's read limit (before any token is looked at)."""
    limits: RateLimits = request.app.state.rate_limits
    limits.check_read(_client(request))


def authenticate_read(request: Request) -> Principal:
    limit_read(request)
    return authenticate(request)
