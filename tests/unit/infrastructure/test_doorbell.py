"""A ring wakes one idle executor, not all of them: each would claim, and all but one
claim would find nothing."""

from __future__ import annotations

import threading

import pytest

from infrastructure.worker.doorbell import Doorbell
from tests.waiting import TimedOut, wait_until


def _waiters(bell: Doorbell, count: int) -> tuple[list[threading.Thread], list[int]]:
    woken: list[int] = []
    seen = bell.generation

    def wait(n: int) -> None:
        bell.wait(seen, timeout=10.0)
        woken.append(n)

    threads = [threading.Thread(target=wait, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    wait_until(lambda: bell.waiting == count, what="every waiter in the doorbell's wait")
    return threads, woken


def test_one_ring_wakes_one_waiter_and_the_next_ring_the_next() -> None:
    bell = Doorbell()
    threads, woken = _waiters(bell, 3)

    bell.ring()
    wait_until(lambda: len(woken) == 1, what="one waiter woken")
    with pytest.raises(TimedOut):  # the others sleep on: a ring is one claim's worth
        wait_until(lambda: len(woken) > 1, timeout=0.3)
    assert bell.waiting == 2
    bell.ring()
    wait_until(lambda: len(woken) == 2, what="the next waiter woken")
    bell.ring()
    wait_until(lambda: len(woken) == 3, what="the last waiter woken")
    for thread in threads:
        thread.join(timeout=5.0)
    assert sorted(woken) == [0, 1, 2]
    assert bell.waiting == 0


def test_a_ring_while_nobody_waits_is_not_lost() -> None:
    bell = Doorbell()
    seen = bell.generation
    bell.ring()  # the executor was busy: it sees the new generation and does not wait
    done = threading.Event()

    def wait() -> None:
        bell.wait(seen, timeout=10.0)
        done.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert done.wait(timeout=1.0), "a ring before the wait must not be missed"
    waiter.join(timeout=5.0)
