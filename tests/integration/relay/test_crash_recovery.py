"""kill -9 of the relay at its worst moments: nothing lost, redeliveries keep their ce_id."""

from __future__ import annotations

import signal
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.relay import RelayStep, RelayTopics, cloud_event_id, stored_position
from tests.integration.relay.harness import start_relay_process, stop_process, wait_caught_up
from tests.integration.relay.records import Record, assert_schema_valid, read_topic
from tests.integration.shop import Shop


@pytest.mark.slow
@pytest.mark.parametrize(
    ("crash_at", "copies"), [(RelayStep.BEFORE_PRODUCE, 1), (RelayStep.BEFORE_SAVE, 2)]
)
def test_a_relay_killed_mid_batch_loses_nothing_after_restart(
    crash_at: RelayStep,
    copies: int,
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    topics: RelayTopics,
    topic_suffix: str,
    bootstrap_servers: str,
    tmp_path: Path,
) -> None:
    orders = [shop.paid_order() for _ in range(3)]
    cancelled = shop.place()
    shop.cancel(cancelled, "too slow")
    expected = {cloud_event_id(o.id, 2) for o in orders}

    crashing = start_relay_process(
        database_url, bootstrap_servers, topic_suffix, tmp_path / "relay-1.log", crash_at
    )
    assert crashing.wait(timeout=30) == -signal.SIGKILL
    published_before_restart = read_topic(bootstrap_servers, topics.confirmed)
    assert len(published_before_restart) == (3 if crash_at is RelayStep.BEFORE_SAVE else 0)
    assert stored_position(db) == 0

    restarted = start_relay_process(
        database_url, bootstrap_servers, topic_suffix, tmp_path / "relay-2.log"
    )
    try:
        wait_caught_up(app, db, timeout=30)
    finally:
        assert stop_process(restarted) == 0, (tmp_path / "relay-2.log").read_text()

    by_ce_id: dict[str, list[Record]] = defaultdict(list)
    for record in read_topic(bootstrap_servers, topics.confirmed):
        by_ce_id[record.ce_id].append(record)
    assert set(by_ce_id) == expected
    for copies_of_one in by_ce_id.values():
        assert len(copies_of_one) == copies
        first = copies_of_one[0]
        assert all(
            (r.key, r.value, r.headers) == (first.key, first.value, first.headers)
            for r in copies_of_one
        )
        assert_schema_valid(first)
    [cancellation, *again] = read_topic(bootstrap_servers, topics.cancelled)
    assert cancellation.ce_id == cloud_event_id(cancelled.order.id, 2)
    assert [r.value for r in again] == [cancellation.value] * (copies - 1)
