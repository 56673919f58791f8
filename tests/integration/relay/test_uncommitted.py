"""Only committed transactions are published, and a slow one is never skipped (adr/0003)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.checkout import Placed
from domain import Order, Payment
from infrastructure.relay import RelayTopics, cloud_event_id
from tests.integration.relay.conftest import MakeRelay
from tests.integration.relay.harness import RelayThread, wait_caught_up, wait_for_passes
from tests.integration.relay.records import read_topic
from tests.integration.shop import Shop
from tests.waiting import wait_until


@dataclass
class OpenTransaction:
    conn: psycopg.Connection[tuple[object, ...]]
    notification_id: int

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()


@contextmanager
def confirmation_in_open_transaction(
    app: CheckoutApplication, database_url: str, placed: Placed, gateway_payment_id: str
) -> Iterator[OpenTransaction]:
    """Record a payment success the way the recorder does, and leave it uncommitted.

    Same statements as eventsourcing's insert: lock the events table, NOTIFY, insert;
    the caller decides when (or whether) it commits.
    """
    payment = app.load(Payment, placed.payment.id)
    order = app.load(Order, placed.order.id)
    payment.record_capture(gateway_payment_id, payment.amount, payment.currency)
    order.confirm_payment(payment.id, gateway_payment_id, payment.provider.value)
    stored = [app.mapper.to_stored_event(e) for a in (payment, order) for e in a.collect_events()]
    with psycopg.connect(database_url) as conn:
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute("LOCK TABLE checkout_events IN EXCLUSIVE MODE")
        conn.execute("NOTIFY checkout_events")
        ids = [
            conn.execute(
                "INSERT INTO checkout_events (originator_id, originator_version, topic, state)"
                " VALUES (%s, %s, %s, %s) RETURNING notification_id",
                (s.originator_id, s.originator_version, s.topic, s.state),
            ).fetchone()
            for s in stored
        ]
        assert ids[-1] is not None
        transaction = OpenTransaction(conn, int(str(ids[-1][0])))
        yield transaction
        conn.rollback()  # a no-op after commit(); the connection closes idle


def test_nothing_is_published_until_the_transaction_commits(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    placed = shop.place()
    with RelayThread(make_relay()) as relay:
        wait_caught_up(app, db)
        with confirmation_in_open_transaction(app, database_url, placed, "pi_slow") as tx:
            wait_for_passes(relay)
            assert read_topic(bootstrap_servers, topics.confirmed) == []
            assert relay.position < tx.notification_id
            tx.commit()
        assert wait_caught_up(app, db) >= tx.notification_id

    [record] = read_topic(bootstrap_servers, topics.confirmed)
    assert record.body["payment"]["gatewayPaymentId"] == "pi_slow"
    assert record.ce_id == cloud_event_id(placed.order.id, 2)


def test_a_rolled_back_transaction_is_never_published(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    placed = shop.place()
    with RelayThread(make_relay()) as relay:
        wait_caught_up(app, db)
        with confirmation_in_open_transaction(app, database_url, placed, "pi_ghost") as tx:
            wait_for_passes(relay)
            tx.rollback()
        wait_for_passes(relay)
        assert read_topic(bootstrap_servers, topics.confirmed) == []
        shop.pay(placed, "pi_real")  # takes a later id; the rolled-back one is a gap
        assert wait_caught_up(app, db) > tx.notification_id

    [record] = read_topic(bootstrap_servers, topics.confirmed)
    assert record.body["payment"]["gatewayPaymentId"] == "pi_real"


def blocked_on_events_table(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks"
            " WHERE NOT granted AND relation = 'checkout_events'::regclass"
        ).fetchone()
    return row is not None and int(str(row[0])) > 0


def test_a_slow_transaction_with_a_lower_id_is_published_with_the_later_one(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    slow, fast = shop.place(), shop.place()
    with RelayThread(make_relay()) as relay, ThreadPoolExecutor(1) as pool:
        wait_caught_up(app, db)
        with confirmation_in_open_transaction(app, database_url, slow, "pi_slow") as tx:
            # A later confirmation starts while the slow one is open: it can only get
            # its notification id after the slow one ends, so ids follow commit order.
            later = pool.submit(shop.pay, fast, "pi_fast")
            wait_until(lambda: blocked_on_events_table(database_url), what="a blocked writer")
            wait_for_passes(relay)
            assert not later.done()
            assert read_topic(bootstrap_servers, topics.confirmed) == []
            tx.commit()
        later.result(timeout=10)
        wait_caught_up(app, db)

    records = read_topic(bootstrap_servers, topics.confirmed)
    assert sorted(r.body["payment"]["gatewayPaymentId"] for r in records) == ["pi_fast", "pi_slow"]
    confirmations = {
        n.originator_id: n.id
        for n in app.recorder.select_notifications(0, 1000, topics=["domain.order:Order.Confirmed"])
    }
    assert confirmations[slow.order.id] == tx.notification_id < confirmations[fast.order.id]
