from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import Container, build_db
from tests.services import scratch_database


@pytest.fixture
def pool_size() -> int:
    return 2


@pytest.fixture
def db(container: Container) -> Engine:
    """The test's database, empty: these tests run the migrations themselves."""
    return container.db


@pytest.fixture
def another_engine(postgres_server_url: str) -> Iterator[Callable[[], Engine]]:
    """More empty databases on the same server, to compare with the test's own."""
    with ExitStack() as stack:

        def make() -> Engine:
            db = build_db(stack.enter_context(scratch_database(postgres_server_url)), pool_size=2)
            stack.callback(db.dispose)
            return db

        yield make
