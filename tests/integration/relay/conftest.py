from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from application.engine import CheckoutEngine
from infrastructure.database import DatabaseAddress
from infrastructure.relay import OutboxRelay, RelayOptions, RelayTopics
from tests.integration.relay.harness import FAST, build_relay, relay_topics
from tests.integration.relay.shop import Shop


@pytest.fixture
def app(database_url: str) -> Iterator[CheckoutEngine]:
    engine = CheckoutEngine(env=DatabaseAddress.parse(database_url).eventsourcing_env(10))
    yield engine
    engine.close()


@pytest.fixture
def sql(database_url: str) -> Iterator[Engine]:
    engine = DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def shop(app: CheckoutEngine) -> Shop:
    return Shop(app)


@pytest.fixture
def topics(topic_suffix: str) -> RelayTopics:
    return relay_topics(topic_suffix)


MakeRelay = Callable[..., OutboxRelay]


@pytest.fixture
def make_relay(
    app: CheckoutEngine, database_url: str, bootstrap_servers: str, topic_suffix: str
) -> MakeRelay:
    """A relay on the session broker (or `bootstrap_servers=`), not started yet."""

    def make(
        options: RelayOptions = FAST, bootstrap: str | None = None, message_timeout_ms: int = 5000
    ) -> OutboxRelay:
        return build_relay(
            app,
            database_url,
            bootstrap or bootstrap_servers,
            topic_suffix,
            options,
            message_timeout_ms,
        )

    return make
