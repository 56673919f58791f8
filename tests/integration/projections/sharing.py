"""A shared follower on a thread of the test, as a projector or worker process runs it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from projections.runner import SharedFollower


@dataclass
class RunningShared:
    """``errors`` collects what ended its thread abnormally (a simulated crash included)."""

    shared: SharedFollower
    stop_event: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> RunningShared:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.shared.run_forever(self.stop_event)
        except BaseException as exc:
            self.errors.append(exc)

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "shared follower did not stop"

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


StartShared = Callable[..., RunningShared]
