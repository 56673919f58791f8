from __future__ import annotations

from collections.abc import Callable

import pytest

from entrypoints.bootstrap import Container, Services
from infrastructure.relay import OutboxRelay, RelayOptions, RelayTopics
from tests.integration.relay.harness import FAST, producer_config, relay_topics


@pytest.fixture
def services(database_url: str, bootstrap_servers: str) -> Services:
    """The test's database and the session's broker."""
    return Services(database_url, bootstrap_servers, "")


@pytest.fixture
def topics(topic_suffix: str) -> RelayTopics:
    return relay_topics(topic_suffix)


MakeRelay = Callable[..., OutboxRelay]


@pytest.fixture
def make_relay(container: Container, topics: RelayTopics) -> MakeRelay:
    """A relay as the composition root builds it, on the test's topics and the session
    broker (or ``bootstrap=``); not started yet."""

    def make(
        options: RelayOptions = FAST, bootstrap: str | None = None, message_timeout_ms: int = 5000
    ) -> OutboxRelay:
        broker = bootstrap or container.services.bootstrap_servers
        producer = producer_config(broker, message_timeout_ms)
        return container.outbox_relay(topics=topics, producer=producer, options=options)

    return make
