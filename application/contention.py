"""Bounded retries of optimistic-concurrency conflicts.

Two commands that load the same aggregate version race to append the next event;
the loser gets a RecordConflictError and must reload and decide again. Retries are
bounded, with jitter so the losers don't collide again in lockstep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import RecordConflictError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from application.errors import ContentionExhausted

T = TypeVar("T")

MAX_ATTEMPTS = 40


def with_retries(command: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    retrying = Retrying(
        retry=retry_if_exception_type(RecordConflictError),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.002, max=0.05),
        reraise=False,
    )
    try:
        return retrying(command)
    except RetryError:
        raise ContentionExhausted(attempts) from None
