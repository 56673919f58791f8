"""What reaches Kafka for each kind of order outcome (CONTRACT.md, Kafka)."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from datetime import datetime

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from domain import Order
from infrastructure.relay import RelayBacklogCollector, RelayTopics, backlog, cloud_event_id
from infrastructure.relay.metrics import stored_position
from tests.integration.relay.conftest import MakeRelay
from tests.integration.relay.harness import FAST, RelayThread, wait_caught_up, wait_for_passes
from tests.integration.relay.records import assert_schema_valid, read_topic
from tests.integration.shop import Shop
from tests.waiting import wait_until


def expected_lines() -> list[dict[str, object]]:
    return [
        {"sku": "MUG-1", "quantity": 2, "unitAmount": 1250, "vendorId": "vendor-mugs"},
        {"sku": "TEE-1", "quantity": 1, "unitAmount": 1999, "vendorId": "vendor-tees"},
    ]


def rfc3339(moment: datetime | None) -> str:
    assert moment is not None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_a_paid_order_is_published_once_exactly_as_the_contract_says(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    with RelayThread(make_relay()) as relay:
        placed = shop.place("alice")
        gateway_payment_id = shop.pay(placed)
        wait_caught_up(app, db)
        wait_for_passes(relay)  # steady state: the relay keeps reading, and sends nothing twice
        records = read_topic(bootstrap_servers, topics.confirmed)

    order = app.load(Order, placed.order.id)
    assert len(records) == 1
    record = records[0]
    order_id = str(order.id)
    confirmed_at = rfc3339(order.confirmed_at)
    assert record.key == order_id.encode()
    assert json.loads(record.value) == {
        "orderId": order_id,
        "customerId": "alice",
        "status": "PAYMENT_CONFIRMED",
        "amount": 2 * 1250 + 1999,
        "currency": "EUR",
        "lines": expected_lines(),
        "payment": {
            "paymentId": str(placed.payment.id),
            "provider": "stripe",
            "gatewayPaymentId": gateway_payment_id,
        },
        "confirmedAt": confirmed_at,
    }
    assert record.headers == {
        "ce_specversion": b"1.0",
        "ce_id": cloud_event_id(order.id, 2).encode(),
        "ce_type": b"checkout.order.confirmed.v1",
        "ce_source": b"checkout-engine",
        "ce_time": confirmed_at.encode(),
        "ce_subject": order_id.encode(),
        "content-type": b"application/json",
    }
    assert datetime.fromisoformat(record.ce_time) == order.confirmed_at
    assert_schema_valid(record)
    assert read_topic(bootstrap_servers, topics.cancelled) == []
    assert read_topic(bootstrap_servers, topics.refunded) == []


def test_a_cancelled_order_is_published_on_its_own_topic_and_a_declined_payment_not_at_all(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    with RelayThread(make_relay()):
        cancelled = shop.place("bob")
        shop.cancel(cancelled, "changed my mind")
        declined = shop.place("carol")
        shop.decline(declined)
        wait_caught_up(app, db)

    assert read_topic(bootstrap_servers, topics.confirmed) == []
    assert read_topic(bootstrap_servers, topics.refunded) == []
    [record] = read_topic(bootstrap_servers, topics.cancelled)
    order = app.load(Order, cancelled.order.id)
    assert record.key == str(order.id).encode()
    assert record.body == {
        "orderId": str(order.id),
        "customerId": "bob",
        "status": "CANCELLED",
        "reason": "changed my mind",
        "amount": 4499,
        "currency": "EUR",
        "lines": expected_lines(),
        "cancelledAt": rfc3339(order.cancelled_at),
    }
    assert record.headers["ce_type"] == b"checkout.order.cancelled.v1"
    assert record.headers["ce_id"] == cloud_event_id(order.id, 2).encode()
    assert_schema_valid(record)


def test_an_orders_records_follow_its_events_in_order(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    # All of it committed before the relay starts, so its events share one read: the
    # relay must still send an order's refund only after its confirmation was acked.
    order = shop.paid_order()
    other = shop.paid_order()
    shop.refund(order.id, 1000)
    shop.refund(other.id, other.amount)
    shop.refund(order.id, order.amount - 1000)

    with RelayThread(make_relay(dataclasses.replace(FAST, batch_size=3))):
        wait_caught_up(app, db)

    confirmed = {r.key: r for r in read_topic(bootstrap_servers, topics.confirmed)}
    refunds = read_topic(bootstrap_servers, topics.refunded)
    mine = [r for r in refunds if r.key == str(order.id).encode()]  # in offset order
    assert len({r.partition for r in mine}) == 1
    amounts = [(r.body["refundedAmount"], r.body["refundedTotal"], r.body["status"]) for r in mine]
    assert amounts == [
        (1000, 1000, "PARTIALLY_REFUNDED"),
        (order.amount - 1000, order.amount, "REFUNDED"),
    ]
    first = confirmed[str(order.id).encode()]
    assert first.ce_time < mine[0].ce_time < mine[1].ce_time
    assert first.timestamp_ms <= mine[0].timestamp_ms <= mine[1].timestamp_ms
    assert len(confirmed) == 2
    assert len(refunds) == 3
    for record in [*confirmed.values(), *refunds]:
        assert_schema_valid(record)


def test_the_position_passes_events_that_publish_nothing(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    collector = RelayBacklogCollector(app, db)
    for _ in range(6):
        shop.place()  # order, payment and stock events: none is published
    assert backlog(app, db) == (app.head_position(), 0.0)
    paid = shop.paid_order()
    events, seconds = backlog(app, db)
    assert events == app.head_position()
    assert seconds > 0
    samples = {m.name: m.samples[0].value for m in collector.collect()}
    assert samples["checkout_outbox_backlog_events"] == events

    # Pages of two: most pages of the filtered read come back empty or short.
    with RelayThread(make_relay(dataclasses.replace(FAST, batch_size=2))):
        assert wait_caught_up(app, db) == app.head_position()
        for _ in range(4):
            shop.place()
        wait_caught_up(app, db)

    assert backlog(app, db) == (0, 0.0)
    registry = CollectorRegistry()
    registry.register(collector)  # as the API's /metrics does
    assert registry.get_sample_value("checkout_outbox_backlog_events") == 0
    assert registry.get_sample_value("checkout_outbox_backlog_seconds") == 0
    [record] = read_topic(bootstrap_servers, topics.confirmed)
    assert record.key == str(paid.id).encode()


def test_a_dispute_and_its_outcome_are_published_on_orders_disputed(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    with RelayThread(make_relay()):
        order = shop.paid_order()
        shop.dispute(order, "dp_1", "open")
        shop.dispute(order, "dp_1", "open")  # a redelivered notice publishes nothing more
        shop.dispute(order, "dp_1", "lost")
        wait_caught_up(app, db)

    records = read_topic(bootstrap_servers, topics.disputed)
    assert [r.body["dispute"]["status"] for r in records] == ["open", "lost"]
    for record in records:
        assert record.key == str(order.id).encode()
        assert record.headers["ce_type"] == b"checkout.order.disputed.v1"
        assert record.body["dispute"]["disputeId"] == "dp_1"
        assert record.body["dispute"]["amount"] == order.amount
        assert record.body["status"] == "PAYMENT_CONFIRMED"
        assert_schema_valid(record)


def test_a_pass_that_publishes_nothing_defers_its_save_and_one_that_publishes_saves_at_once(
    app: CheckoutApplication, db: Engine, shop: Shop, make_relay: MakeRelay
) -> None:
    """Position saves cost a write per pass; most passes relay nothing (checkouts,
    stock, payments), so those save at most every `save_every` seconds."""
    with RelayThread(make_relay(dataclasses.replace(FAST, save_every=3600.0))) as relay:
        wait_for_passes(relay, 1)
        saved = stored_position(db)
        shop.place("alice")  # events the relay reads and does not publish
        wait_until(lambda: relay.position >= app.head_position(), what="the relay's read")
        wait_for_passes(relay)
        assert stored_position(db) == saved, "a pass that published nothing saved"

        shop.pay(shop.place("bob"))  # an OrderConfirmed: published, then saved at once
        wait_caught_up(app, db)

    with RelayThread(make_relay(dataclasses.replace(FAST, save_every=0.2))) as relay:
        shop.place("carol")
        wait_caught_up(app, db)  # deferred, not forgotten: saved while the relay idles


def test_commits_in_a_burst_share_the_pass_a_gather_later(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    make_relay: MakeRelay,
    topics: RelayTopics,
    bootstrap_servers: str,
) -> None:
    """A pass per NOTIFY read the head and the log for every commit of a stream; after a
    NOTIFY the relay waits out the gather from its last pass's start, and one pass relays
    what the commits of that moment wrote."""
    relay = make_relay(dataclasses.replace(FAST, gather=1.0, safety_poll=60.0))
    with RelayThread(relay):
        wait_until(lambda: relay.is_active and relay.passes >= 1, what="the relay leading")
        before, began = relay.passes, time.monotonic()
        paid = [shop.place(f"burst-{n}") for n in range(12)]
        for placed in paid:
            shop.pay(placed)  # 24 commits, each one NOTIFY
        burst = time.monotonic() - began
        wait_caught_up(app, db)
        passes = relay.passes - before
        records = read_topic(bootstrap_servers, topics.confirmed)

    assert sorted(r.key for r in records) == sorted(str(p.order.id).encode() for p in paid)
    # One at the first NOTIFY, then one a gather after each pass while commits come in,
    # and the last for the NOTIFYs of the last gather: without the gather, 14 here.
    bound = 2 + math.ceil(burst / 1.0)
    assert passes <= bound, f"{passes} passes for 24 commits in {burst:.2f} s"
