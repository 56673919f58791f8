from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.database import DatabaseAddress
from infrastructure.relay import OutboxRelay, RelayOptions, RelayTopics
from tests.integration.relay.harness import FAST, build_relay, relay_topics
from tests.integration.relay.shop import Shop


@pytest.fixture
def app(database_url: str) -> Iterator[CheckoutApplication]:
    application = CheckoutApplication(env=DatabaseAddress.parse(database_url).eventsourcing_env(10))
    yield application
    application.close()


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    db = DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=2)
    yield db
    db.dispose()


@pytest.fixture
def shop(app: CheckoutApplication) -> Shop:
    return Shop(app)


@pytest.fixture
def topics(topic_suffix: str) -> RelayTopics:
    return relay_topics(topic_suffix)


MakeRelay = Callable[..., OutboxRelay]


@pytest.fixture
def make_relay(
    app: CheckoutApplication, database_url: str, bootstrap_servers: str, topic_suffix: str
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
