"""Bounded retries of optimistic-concurrency conflicts, and the turnstiles losers retry in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.persistence import RecordConflictError

from application.contention import Turnstiles, with_retries
from application.errors import ContentionExhausted


class Recorder:
    """A turnstile that notes whether each attempt ran inside it."""

    def __init__(self) -> None:
        self.inside = False
        self.entered = 0

    @contextmanager
    def holding(self) -> Iterator[None]:
        self.entered += 1
        self.inside = True
        try:
            yield
        finally:
            self.inside = False


def test_only_the_retries_after_a_conflict_pass_the_turnstile() -> None:
    turnstile = Recorder()
    seen: list[bool] = []

    def command() -> str:
        seen.append(turnstile.inside)
        if len(seen) < 3:
            raise RecordConflictError("another command appended first")
        return "done"

    assert with_retries(command, retry_holding=turnstile.holding) == "done"
    assert seen == [False, True, True]
    assert turnstile.entered == 2


def test_a_command_without_conflicts_never_waits_at_the_turnstile() -> None:
    turnstile = Recorder()

    assert with_retries(lambda: 7, retry_holding=turnstile.holding) == 7
    assert turnstile.entered == 0


def test_conflicts_past_the_budget_are_contention_exhausted() -> None:
    def command() -> None:
        raise RecordConflictError("always behind")

    with pytest.raises(ContentionExhausted):
        with_retries(command, attempts=3, retry_holding=Recorder().holding)


def test_one_key_is_passed_by_one_thread_at_a_time() -> None:
    turnstiles = Turnstiles()
    counted = [0]

    def count(keys: list[str]) -> None:
        for _ in range(200):
            with turnstiles.passing(keys):
                seen = counted[0]
                time.sleep(0)  # let another thread run between the read and the write
                counted[0] = seen + 1

    threads = [
        threading.Thread(target=count, args=(keys,))
        for keys in (["SKU-1"], ["SKU-1", "SKU-2"], ["SKU-3", "SKU-1"]) * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert counted[0] == 200 * len(threads), "no update was lost"


def test_carts_naming_the_same_keys_in_any_order_do_not_deadlock() -> None:
    turnstiles = Turnstiles(stripes=4)

    def pass_many(keys: list[str]) -> None:
        for _ in range(2000):
            with turnstiles.passing(keys):
                pass

    threads = [
        threading.Thread(target=pass_many, args=(keys,), daemon=True)
        for keys in (["a", "b", "c"], ["c", "b", "a"], ["b", "a"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "deadlocked"
