"""The one backoff policy: doubling from ``initial``, up to ``initial`` of jitter, capped."""

from __future__ import annotations

import pytest

from application.backoff import Backoff

SAMPLES = 200


@pytest.mark.parametrize(("attempts", "base"), [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)])
def test_each_try_doubles_the_wait_plus_up_to_initial_of_jitter(attempts: int, base: float) -> None:
    backoff = Backoff(initial=1.0, maximum=1000.0)

    delays = [backoff.delay(attempts) for _ in range(SAMPLES)]

    assert all(base <= delay <= base + 1.0 for delay in delays)
    assert len(set(delays)) > 1, "jittered, not fixed"


def test_the_wait_never_passes_the_cap() -> None:
    backoff = Backoff(initial=1.0, maximum=300.0)

    assert {backoff.delay(10) for _ in range(SAMPLES)} == {300.0}
    assert backoff.delay(12) == 300.0


def test_a_row_retried_for_days_still_gets_the_cap() -> None:
    """2**attempts overflows a float past about 1024 tries; the cap holds long before."""
    assert Backoff(initial=1.0, maximum=3600.0).delay(5000) == 3600.0


def test_the_defaults_are_one_second_to_five_minutes() -> None:
    assert Backoff() == Backoff(initial=1.0, maximum=300.0)
