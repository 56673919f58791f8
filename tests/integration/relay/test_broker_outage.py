"""The broker goes away: checkouts go on, the backlog grows, then drains in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.embedded.broker import EmbeddedBroker
from infrastructure.relay import RelayTopics, backlog, cloud_event_id
from tests.integration.relay.conftest import MakeRelay
from tests.integration.relay.harness import RelayThread, wait_caught_up
from tests.integration.relay.records import assert_schema_valid, read_topic
from tests.integration.shop import Shop
from tests.waiting import wait_until


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[list[EmbeddedBroker]]:
    """Brokers this test may stop: never the session's."""
    brokers = [EmbeddedBroker(tmp_path / "broker")]
    brokers[0].start()
    yield brokers
    for broker in brokers:
        broker.stop()


def failures() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "checkout_relay_failures"
        for sample in metric.samples
        if sample.name == "checkout_relay_failures_total"
    )


@pytest.mark.slow
def test_a_broker_outage_delays_publishing_and_loses_nothing(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    own_broker: list[EmbeddedBroker],
    tmp_path: Path,
) -> None:
    broker = own_broker[0]
    relay = make_relay(bootstrap=broker.bootstrap_servers, message_timeout_ms=1500)
    with RelayThread(relay):
        shop.paid_order()
        wait_caught_up(app, db)
        broker.stop()
        failed_before = failures()

        refunded = shop.paid_order()  # the API keeps accepting and confirming meanwhile
        others = [shop.paid_order() for _ in range(2)]
        shop.refund(refunded.id, 500)
        shop.refund(refunded.id, 700)
        wait_until(lambda: failures() > failed_before, timeout=15, what="a failed delivery")
        events, seconds = backlog(app, db)
        assert events > 0
        assert seconds > 0
        assert relay.is_active

        restarted = EmbeddedBroker(tmp_path / "broker-again", port=broker.port)
        own_broker.append(restarted)
        restarted.start()
        wait_caught_up(app, db, timeout=30)
        assert backlog(app, db) == (0, 0.0)

    # This broker keeps messages in memory only: what it had before the outage is gone.
    confirmed = read_topic(restarted.bootstrap_servers, topics.confirmed)
    assert sorted(r.ce_id for r in confirmed) == sorted(
        cloud_event_id(o.id, 2) for o in [refunded, *others]
    )
    refunds = read_topic(restarted.bootstrap_servers, topics.refunded)
    assert [(r.body["refundedTotal"], r.offset) for r in refunds] == [(500, 0), (1200, 1)]
    [confirmation] = [r for r in confirmed if r.key == str(refunded.id).encode()]
    assert confirmation.ce_time < refunds[0].ce_time < refunds[1].ce_time
    for record in [*confirmed, *refunds]:
        assert_schema_valid(record)
