from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


class Running(RunningShared):
    """A runner of one follower in a thread, as tools and tests run one."""

    @property
    def runner(self) -> ProjectionRunner:
        assert isinstance(self.shared, ProjectionRunner)
        return self.shared


StartRunner = Callable[..., Running]


@pytest.fixture
def start_runner(app: CheckoutApplication, db: Engine) -> Iterator[StartRunner]:
    started: list[Running] = []

    def start(projection: Projection, **options: Any) -> Running:
        running = Running(ProjectionRunner(app, db, projection, **options))
        running.start()
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
