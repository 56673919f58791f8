"""The sandbox's clock: wall time plus however far tests have moved it on.

Checkout Sessions are created and expire by it, so a test can let a day pass in an instant.
Webhook signatures and the other objects' timestamps keep wall time: a signature dated in the
future would be refused by the receiver's tolerance check, which is not what a test means.
"""

from __future__ import annotations

import threading
import time


class SandboxClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0

    def now(self) -> int:
        with self._lock:
            return int(time.time()) + self._offset

    @property
    def offset(self) -> int:
        with self._lock:
            return self._offset

    def advance(self, seconds: int) -> int:
        """Move the clock on by ``seconds`` (never back: providers' time does not run back)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
            return int(time.time()) + self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0
