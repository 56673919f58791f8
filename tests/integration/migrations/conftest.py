from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import psycopg
import pytest
from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The test's database, empty: no table is created here."""
    db = DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=2)
    yield db
    db.dispose()


@pytest.fixture
def another_engine(postgres_server_url: str) -> Iterator[Callable[[], Engine]]:
    """More empty databases on the same server, to compare with the test's own."""
    server = DatabaseAddress.parse(postgres_server_url)
    with ExitStack() as stack:

        def make() -> Engine:
            name = f"ce_test_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(server.conninfo, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            stack.callback(_drop, server, name)
            db = server.with_dbname(name).sqlalchemy_engine(pool_size=2)
            stack.callback(db.dispose)
            return db

        yield make


def _drop(server: DatabaseAddress, name: str) -> None:
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
