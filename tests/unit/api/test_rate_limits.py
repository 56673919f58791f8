"""Moving-window limits per customer and per IP."""

from __future__ import annotations

import pytest

from api.problems import Problem
from api.rate_limits import WriteRateLimits


def test_the_customer_limit_refuses_with_retry_after() -> None:
    limits = WriteRateLimits("2/minute", "off")
    limits.check_customer("a")
    limits.check_customer("a")
    with pytest.raises(Problem) as caught:
        limits.check_customer("a")
    assert caught.value.status == 429
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
    limits.check_customer("b")  # other customers are unaffected


def test_the_ip_limit_is_separate_from_the_customer_limit() -> None:
    limits = WriteRateLimits("1/minute", "2/second")
    limits.check_ip("10.0.0.1")
    limits.check_customer("a")
    limits.check_ip("10.0.0.1")
    with pytest.raises(Problem):
        limits.check_ip("10.0.0.1")
    limits.check_ip("10.0.0.2")


def test_off_disables_a_limit() -> None:
    limits = WriteRateLimits("off", "OFF")
    for _ in range(500):
        limits.check_customer("a")
        limits.check_ip("10.0.0.1")
