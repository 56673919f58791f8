"""Bounded retries of optimistic-concurrency conflicts.

Two commands that load the same aggregate version race to append the next event;
the loser gets a RecordConflictError and must reload and decide again. Retries are
bounded, with jitter so the losers don't collide again in lockstep.

Jitter alone does not hold up under a crowd: when dozens of threads hold the same hot
aggregate (one sku in a flash sale), each round has one winner, and the unlucky losers
ran out of attempts (503) while the stock was still there. So a command may name
``Turnstiles`` its retries pass through: losers in one process retry one at a time per
key, while first attempts, and commands that never conflict, never wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
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


class Turnstiles:
    """In-process locks for the keys of hot aggregates, striped so memory stays bounded.

    Other processes still race each other; the bounded retries absorb that.
    """

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def passing(self, keys: Iterable[str]) -> Iterator[None]:
        # Always taken in index order, so two commands on overlapping keys cannot deadlock.
        indexes = sorted({hash(key) % len(self._locks) for key in keys})
        with ExitStack() as held:
            for index in indexes:
                held.enter_context(self._locks[index])
            yield


def with_retries(
    command: Callable[[], T],
    attempts: int = MAX_ATTEMPTS,
    retry_holding: Callable[[], AbstractContextManager[None]] | None = None,
) -> T:
    """Run ``command``, again after each conflict; retries run inside ``retry_holding()``."""
    conflicted = False

    def attempt() -> T:
        nonlocal conflicted
        if conflicted and retry_holding is not None:
            with retry_holding():
                return command()
        try:
            return command()
        except RecordConflictError:
            conflicted = True
            raise

    retrying = Retrying(
        retry=retry_if_exception_type(RecordConflictError),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.002, max=0.05),
        reraise=False,
    )
    try:
        return retrying(attempt)
    except RetryError:
        raise ContentionExhausted(attempts) from None
