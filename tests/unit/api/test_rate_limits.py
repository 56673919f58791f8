"""Moving-window limits: writes per customer and per IP, reads per IP."""

from __future__ import annotations

import pytest

from api.problems import Problem
from api.rate_limits import RateLimits


def test_the_customer_limit_refuses_with_retry_after() -> None:
    limits = RateLimits("2/minute", "off")
    limits.check_customer("a")
    limits.check_customer("a")
    with pytest.raises(Problem) as caught:
        limits.check_customer("a")
    assert caught.value.status == 429
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
    limits.check_customer("b")  # other customers are unaffected


def test_the_ip_limit_is_separate_from_the_customer_limit() -> None:
    limits = RateLimits("1/minute", "2/second")
    limits.check_ip("10.0.0.1")
    limits.check_customer("a")
    limits.check_ip("10.0.0.1")
    with pytest.raises(Problem):
        limits.check_ip("10.0.0.1")
    limits.check_ip("10.0.0.2")


def test_off_disables_a_limit() -> None:
    limits = RateLimits("off", "OFF")
    for _ in range(500):
        limits.check_customer("a")
        limits.check_ip("10.0.0.1")


def test_reads_count_apart_from_writes() -> None:
    limits = RateLimits("off", "1/minute", "2/minute")
    limits.check_ip("10.0.0.1")
    limits.check_read("10.0.0.1")
    limits.check_read("10.0.0.1")
    with pytest.raises(Problem) as caught:
        limits.check_read("10.0.0.1")
    assert caught.value.status == 429
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
    limits.check_read("10.0.0.2")
    with pytest.raises(Problem):
        limits.check_ip("10.0.0.1")  # its own, separate write budget: used up by one


def test_reads_are_unlimited_when_off() -> None:
    limits = RateLimits("off", "off", "off")
    for _ in range(500):
        limits.check_read("10.0.0.1")
