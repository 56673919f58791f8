"""One active relay at a time; a standby takes over within 5 s when the active goes."""

from __future__ import annotations

import dataclasses
import signal
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.relay import OutboxRelay, RelayOptions, RelayTopics, cloud_event_id
from tests.integration.relay.conftest import MakeRelay
from tests.integration.relay.harness import (
    FAST,
    RelayThread,
    lease_holder_pid,
    producer_config,
    start_relay_process,
    stop_process,
    wait_caught_up,
)
from tests.integration.relay.records import read_topic
from tests.integration.shop import Shop
from tests.waiting import wait_until

TAKEOVER_SECONDS = 5.0


def published_once(bootstrap_servers: str, topic: str, expected: set[str]) -> None:
    ce_ids = [r.ce_id for r in read_topic(bootstrap_servers, topic)]
    assert sorted(ce_ids) == sorted(expected)


def the_active(*relays: OutboxRelay) -> OutboxRelay:
    def only_one() -> OutboxRelay | None:
        active = [r for r in relays if r.is_active]
        return active[0] if len(active) == 1 else None

    return wait_until(only_one, what="exactly one active relay")


def test_two_relays_publish_each_event_once_and_hand_over(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    # One is given the database as a SQLAlchemy engine, the other as an address.
    by_engine = OutboxRelay(app, db, producer_config(bootstrap_servers), topics, options=FAST)
    threads = {relay: RelayThread(relay).start() for relay in (make_relay(), by_engine)}
    try:
        active = the_active(*threads)
        [standby] = [r for r in threads if r is not active]
        wait_until(lambda: standby.lease_attempts >= 3, what="the standby to try the lease")
        expected = {cloud_event_id(shop.paid_order().id, 2) for _ in range(3)}
        wait_caught_up(app, db)
        assert (standby.is_active, standby.passes) == (False, 0)
        published_once(bootstrap_servers, topics.confirmed, expected)

        # The active's lock connection dies: it stops relaying at once, someone takes over.
        pid = lease_holder_pid(database_url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_until(lambda: lease_holder_pid(database_url) not in (None, pid), timeout=5)
        active = the_active(*threads)
        expected.add(cloud_event_id(shop.paid_order().id, 2))
        wait_caught_up(app, db)
        published_once(bootstrap_servers, topics.confirmed, expected)

        # A clean stop releases the lease at once.
        threads.pop(active).stop()
        [successor] = threads
        started = time.monotonic()
        wait_until(lambda: successor.is_active, timeout=TAKEOVER_SECONDS)
        assert time.monotonic() - started < TAKEOVER_SECONDS
        expected.add(cloud_event_id(shop.paid_order().id, 2))
        wait_caught_up(app, db)
        published_once(bootstrap_servers, topics.confirmed, expected)
    finally:
        for thread in threads.values():
            thread.stop()


@pytest.mark.slow
def test_a_standby_takes_over_within_five_seconds_of_a_kill_9(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    topic_suffix: str,
    bootstrap_servers: str,
    tmp_path: Path,
) -> None:
    expected = {cloud_event_id(shop.paid_order().id, 2)}
    log = tmp_path / "active.log"
    active = start_relay_process(database_url, bootstrap_servers, topic_suffix, log)
    try:
        wait_caught_up(app, db, timeout=30)
        # The standby retries at the production default, once a second.
        standby = make_relay(dataclasses.replace(FAST, standby_retry=RelayOptions().standby_retry))
        with RelayThread(standby):
            wait_until(lambda: standby.lease_attempts >= 2, what="the standby to try the lease")
            expected.add(cloud_event_id(shop.paid_order().id, 2))
            wait_caught_up(app, db)
            assert not standby.is_active

            active.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda: standby.is_active, timeout=TAKEOVER_SECONDS, what="takeover")
            assert time.monotonic() - killed < TAKEOVER_SECONDS
            expected.add(cloud_event_id(shop.paid_order().id, 2))
            wait_caught_up(app, db)
    finally:
        stop_process(active)
    published_once(bootstrap_servers, topics.confirmed, expected)
