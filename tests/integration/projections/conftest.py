from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections.follower import Follower
from projections.projection import Projection
from projections.runner import ProjectionRunner, SharedFollower
from tests.integration.projections.histories import Histories
from tests.integration.projections.sharing import RunningShared, StartShared


@pytest.fixture
def histories(app: CheckoutApplication) -> Histories:
    """This folder's own histories: it saves aggregates directly, to write logs (a payment before
    its order) that the use cases never would and the views must still get right."""
    return Histories(app)


@dataclass
class Running:
    """A runner in a thread; `errors` collects what ended its thread abnormally."""

    runner: ProjectionRunner
    stop_event: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> Running:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.runner.run_forever(self.stop_event)
        except BaseException as exc:
            self.errors.append(exc)

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "runner did not stop"

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


StartRunner = Callable[..., Running]


@pytest.fixture
def start_runner(app: CheckoutApplication, db: Engine) -> Iterator[StartRunner]:
    started: list[Running] = []

    def start(projection: Projection, **options: Any) -> Running:
        running = Running(ProjectionRunner(app, db, projection, **options)).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def start_shared(app: CheckoutApplication, db: Engine) -> Iterator[StartShared]:
    """Shared followers (projections.runner.SharedFollower) on threads, stopped at the end."""
    started: list[RunningShared] = []

    def start(followers: Sequence[Follower], **options: Any) -> RunningShared:
        running = RunningShared(SharedFollower(app, db, followers, **options)).start()
        started.append(running)
        return running

    yield start
    for running in started:
        if not running.finished:
            running.stop()
