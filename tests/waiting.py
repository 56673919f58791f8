"""Wait on a condition with a deadline (tests never sleep a fixed time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


class TimedOut(AssertionError):
    pass


def wait_until(
    condition: Callable[[], T | Literal[False] | None],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Poll `condition` until it returns something truthy; return it, or fail at the deadline.

    A condition written ``lambda: ready and value`` may answer False or None while it waits;
    what it returns at last is the value.
    """
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimedOut(f"timed out after {timeout}s waiting for {what or condition}")
        pause.wait(interval)
