"""A ring wakes one idle executor, not all of them: each would claim, and all but one
claim would find nothing."""

from __future__ import annotations

import threading
import time

from infrastructure.worker.doorbell import Doorbell


def _waiters(bell: Doorbell, count: int) -> tuple[list[threading.Thread], list[int]]:
    woken: list[int] = []
    seen = bell.generation

    def wait(n: int) -> None:
        bell.wait(seen, timeout=5.0)
        woken.append(n)

    threads = [threading.Thread(target=wait, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)  # all of them waiting
    return threads, woken


def test_one_ring_wakes_one_waiter_and_the_next_ring_the_next() -> None:
    bell = Doorbell()
    threads, woken = _waiters(bell, 3)

    bell.ring()
    time.sleep(0.2)
    assert len(woken) == 1
    bell.ring()
    time.sleep(0.2)
    assert len(woken) == 2
    bell.ring()
    for thread in threads:
        thread.join(timeout=2.0)
    assert sorted(woken) == [0, 1, 2]


def test_a_ring_while_nobody_waits_is_not_lost() -> None:
    bell = Doorbell()
    seen = bell.generation
    bell.ring()  # the executor was busy: it sees the new generation and does not wait
    started = time.monotonic()
    bell.wait(seen, timeout=5.0)
    assert time.monotonic() - started < 1.0
