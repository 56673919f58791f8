"""The engine as the composition root builds it, on the test's own database.

A folder whose tests need more (a broker, a running worker, an empty database) overrides
one of these fixtures in its own conftest rather than building the graph by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.bootstrap import Container, Services
from infrastructure.settings import Settings, load_settings
from tests.integration.shop import TTL, SettableClock, Shop


@pytest.fixture
def settings() -> Settings:
    return load_settings(PAYMENT_TTL_SECONDS=str(int(TTL.total_seconds())))


@pytest.fixture
def services(database_url: str) -> Services:
    """The test's database; no broker (a folder that relays asks for one) and no JWT."""
    return Services(database_url, "", "")


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def pool_size() -> int:
    """Connections per pool (the Application's and the SQLAlchemy engine's)."""
    return 10


@pytest.fixture
def container(
    settings: Settings, services: Services, clock: SettableClock, pool_size: int
) -> Iterator[Container]:
    container = Container(settings, services, clock=clock, pool_size=pool_size)
    yield container
    container.close()


@pytest.fixture
def app(container: Container) -> CheckoutApplication:
    return container.app


@pytest.fixture
def db(container: Container) -> Engine:
    """The test's database with every engine table, as a role has it once started."""
    container.upgrade_database()
    return container.db


@pytest.fixture
def shop(container: Container) -> Shop:
    return Shop(container)
