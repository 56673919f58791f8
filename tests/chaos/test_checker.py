"""The checker finds nothing in a healthy world, and each of its checks can fail.

The world is real: the API, the projections and the worker (tests/e2e/payment_shop.py),
the provider sandbox, and the outbox relay publishing to the session's broker. A few
orders are paid with both providers, one is partly refunded and one cancelled; then each
test tampers with one piece of evidence and expects that invariant's kind. Tests that
forge the log itself are in test_checker_forgeries.py.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from domain import Payment
from infrastructure.audit.chain import AuditChain
from infrastructure.relay.messages import cloud_event_id
from tests.chaos.checker import CheckReport, Evidence, check, unsettled
from tests.chaos.evidence_kafka import Record, read_topic
from tests.e2e.conftest import CATALOG, start_api
from tests.e2e.payment_shop import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    STRIPE_KEY,
    PaidOrder,
    PaymentShop,
    customer,
    open_shop,
    provider_sandbox,
    shop,
)
from tests.integration.relay.harness import FAST, RelayThread, producer_config, relay_topics
from tests.waiting import TimedOut, wait_until

pytestmark = pytest.mark.slow

# Fixtures used by name below (pytest finds them in this module's namespace).
__all__ = ["open_shop", "provider_sandbox", "shop", "start_api", "world"]

SETTLE = 60.0


@dataclasses.dataclass
class World:
    shop: PaymentShop
    evidence: Evidence
    paid: list[PaidOrder]
    cancelled: str
    relay: RelayThread

    def run(self, **changes: Any) -> CheckReport:
        return check(dataclasses.replace(self.evidence, **changes))

    def sql(self, statement: str, **params: Any) -> Any:
        """Run ``statement`` in its own transaction; its first column's first value."""
        with self.shop.api.container.db.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.scalar() if result.returns_rows else None

    def moving(self) -> list[str]:
        return unsettled(self.evidence)

    def payment_id(self, order_id: str) -> str:
        return str(Payment.id_for(uuid.UUID(order_id)))

    def chain(self) -> int:
        """Chain the log as the projector's audit follower would (no anchors: nothing the
        checker reads), so that the chain follower has a tracking row; returns its position."""
        container = self.shop.api.container
        return AuditChain(container.app, container.db).catch_up()

    def records(self, order_id: str) -> list[Record]:
        found = read_topic(self.evidence.bootstrap_servers, self.evidence.confirmed_topic)
        return [record for record in found if record.key == order_id.encode()]

    def partitions(self) -> int:
        admin = AdminClient({"bootstrap.servers": self.evidence.bootstrap_servers})
        return len(admin.list_topics(timeout=15).topics[self.evidence.confirmed_topic].partitions)

    def last_version(self, order_id: str) -> int:
        events = self.shop.api.container.app.events.get(uuid.UUID(order_id))
        return max(event.originator_version for event in events)

    def publish(self, record: Record, partition: int | None = None, **changes: Any) -> None:
        """Produce a copy of ``record`` (headers changed by ``changes``, ``value``
        replaced when given) to the confirmed topic, on ``partition`` or the record's own."""
        value = changes.pop("value", record.value)
        headers = {**record.headers, **{k: str(v).encode() for k, v in changes.items()}}
        producer = Producer({"bootstrap.servers": self.evidence.bootstrap_servers})
        producer.produce(
            self.evidence.confirmed_topic,
            key=record.key,
            value=value,
            headers=list(headers.items()),
            partition=record.partition if partition is None else partition,
        )
        assert producer.flush(15) == 0


def _refund_settled(shop: PaymentShop, order_id: str) -> bool:
    return any(r["status"] == "succeeded" for r in shop.refunds(order_id))


def _cancelled_order(shop: PaymentShop) -> str:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay")
    shop.payable(order_id, buyer)
    response = shop.api.client.post(f"/orders/{order_id}/cancel", headers=shop.api.auth(buyer))
    assert response.status_code < 300, response.text
    shop.wait_order(order_id, buyer, "CANCELLED")
    return order_id


@pytest.fixture
def world(shop: PaymentShop, bootstrap_servers: str, topic_suffix: str) -> Iterator[World]:
    container = shop.api.container
    topics = relay_topics(topic_suffix)
    relay = container.outbox_relay(
        topics=topics, producer=producer_config(bootstrap_servers), options=FAST
    )
    running = RelayThread(relay).start()
    paid = [shop.paid_order("stripe"), shop.paid_order("razorpay"), shop.paid_order("stripe")]
    refund = shop.refund(paid[1].order_id, {"amount": 500, "reason": "a chipped cup"})
    assert refund.status_code == 202, refund.text
    wait_until(lambda: _refund_settled(shop, paid[1].order_id), timeout=SETTLE, what="refund")
    cancelled = _cancelled_order(shop)
    shop.flush()
    evidence = Evidence(
        database_url=container.services.database_url,
        bootstrap_servers=bootstrap_servers,
        confirmed_topic=topics.confirmed,
        stripe_api_base=f"{shop.sandbox_url}/stripe",
        stripe_secret_key=STRIPE_KEY,
        razorpay_api_base=f"{shop.sandbox_url}/razorpay",
        razorpay_key_id=RAZORPAY_KEY_ID,
        razorpay_key_secret=RAZORPAY_KEY_SECRET,
        initial_stock={entry.sku: entry.stock for entry in CATALOG},
    )
    moving: list[str] = []

    def settled() -> bool:
        moving[:] = unsettled(evidence)
        return not moving

    try:
        wait_until(settled, timeout=SETTLE, interval=0.2, what="the world to settle")
    except TimedOut:
        pytest.fail(f"the world never settled: {moving}")
    yield World(shop, evidence, paid, cancelled, running)
    running.stop()


def subjects(report: CheckReport, kind: str) -> set[str]:
    return {v.subject for v in report.violations if v.invariant == kind}


def _held_webhooks(shop: PaymentShop) -> Iterator[None]:
    """The provider's webhooks wait: what happens at the sandbox stays unknown to the engine."""
    shop.control("POST", "/webhooks/hold")
    try:
        yield
    finally:
        shop.control("POST", "/webhooks/release", json={"order": "fifo"})


def test_a_healthy_world_has_no_violations(world: World) -> None:
    assert world.chain() > 0

    report = world.run()

    assert report.violations == [], report.as_json()
    assert report.examined["confirmed orders"] == 3
    assert report.examined["records"] >= 3
    assert report.examined["stripe charges"] >= 2
    assert report.examined["razorpay payments"] >= 1
    assert report.examined["webhooks"] > 0
    assert report.examined["audit chain events"] > 0
    assert report.examined["order_stock_movements rows"] > 0
    assert unsettled(world.evidence) == []


def test_a_topic_without_the_records_loses_every_confirmed_order(world: World) -> None:
    report = world.run(confirmed_topic=f"orders.confirmed.empty.{uuid.uuid4().hex[:8]}")

    assert subjects(report, "kafka.lost") == {p.order_id for p in world.paid}
    assert report.kinds() == {"kafka.lost"}


def test_a_record_for_an_unknown_order_is_a_phantom(world: World) -> None:
    stranger = str(uuid.uuid4())
    producer = Producer({"bootstrap.servers": world.evidence.bootstrap_servers})
    producer.produce(
        world.evidence.confirmed_topic,
        key=stranger.encode(),
        value=b'{"orderId": "%s"}' % stranger.encode(),
        headers=[("ce_id", str(uuid.uuid4()).encode())],
    )
    assert producer.flush(15) == 0

    report = world.run()

    assert subjects(report, "kafka.phantom") == {stranger}
    assert report.kinds() == {"kafka.phantom"}


def test_a_view_row_changed_by_hand_differs_from_the_rebuild(world: World) -> None:
    order_id = world.paid[0].order_id
    world.sql("UPDATE order_view SET refunded_amount = 1 WHERE order_id = :id", id=order_id)

    report = world.run()

    assert subjects(report, "views.rebuild") == {order_id}
    assert report.kinds() == {"views.rebuild"}


def test_a_lost_task_row_is_missing(world: World) -> None:
    world.sql("DELETE FROM provider_tasks WHERE kind = 'refund'")

    report = world.run()

    assert report.kinds() == {"tasks.missing"}


def test_a_task_row_for_another_amount_is_a_mismatch(world: World) -> None:
    world.sql("UPDATE provider_tasks SET amount = amount + 1 WHERE kind = 'refund'")

    report = world.run()

    assert report.kinds() == {"tasks.mismatch"}


def test_a_webhook_given_up_on_is_abandoned(world: World) -> None:
    event_id = world.sql(
        "UPDATE webhook_inbox SET status = 'failed', next_attempt_at = NULL, attempts = 20"
        " WHERE event_id = (SELECT min(event_id) FROM webhook_inbox) RETURNING event_id"
    )

    report = world.run()

    assert {s.split(":", 1)[1] for s in subjects(report, "webhooks.abandoned")} == {event_id}
    assert report.kinds() == {"webhooks.abandoned"}


def test_stock_loaded_off_by_one_breaks_conservation(world: World) -> None:
    stock = dict(world.evidence.initial_stock)
    stock["SKU-1"] += 1

    report = world.run(initial_stock=stock)

    assert subjects(report, "stock.conservation") == {"SKU-1"}
    assert report.kinds() == {"stock.conservation"}


def test_a_catalog_row_off_by_one_is_seen_by_the_stock_check(world: World) -> None:
    world.sql("UPDATE product_view SET on_hand = on_hand - 1 WHERE sku = 'SKU-1'")

    report = world.run()

    assert subjects(report, "stock.view") == {"SKU-1"}
    assert report.kinds() == {"stock.view", "views.rebuild"}


def test_an_unrefunded_extra_capture_at_the_provider_is_reported(world: World) -> None:
    paid = world.paid[0]
    first = world.shop.stripe_intent(paid.captured)
    for _ in _held_webhooks(world.shop):
        world.shop.stripe.v1.payment_intents.create(
            {
                "amount": first.amount,
                "currency": first.currency,
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": first.metadata.to_dict(),
            }
        )
        report = world.run()

    payment_id = first.metadata["paymentId"]
    assert subjects(report, "money.extra_capture") == {payment_id}
    assert report.kinds() == {"money.extra_capture"}


def test_a_refund_made_at_the_provider_is_a_mismatch(world: World) -> None:
    paid = world.paid[2]
    for _ in _held_webhooks(world.shop):
        world.shop.stripe.v1.refunds.create({"payment_intent": paid.captured, "amount": 100})
        report = world.run()

    payment_id = world.shop.stripe_intent(paid.captured).metadata["paymentId"]
    assert subjects(report, "money.mismatch") == {payment_id}
    assert report.kinds() == {"money.mismatch"}


def test_a_missing_table_is_a_violation_not_a_crash(world: World) -> None:
    world.sql("ALTER TABLE webhook_inbox RENAME TO webhook_inbox_gone")
    try:
        report = world.run()
    finally:
        world.sql("ALTER TABLE webhook_inbox_gone RENAME TO webhook_inbox")

    assert subjects(report, "evidence.missing_table") == {"webhook_inbox"}


# -- the topic ---------------------------------------------------------------------------


def test_a_redelivery_under_another_events_id_has_the_wrong_ce_id(world: World) -> None:
    paid = world.paid[1]  # refunded after its confirmation: a later event of its own
    [record] = world.records(paid.order_id)
    later = cloud_event_id(uuid.UUID(paid.order_id), world.last_version(paid.order_id))
    assert later != record.header("ce_id")
    world.publish(record, ce_id=later)

    report = world.run()

    assert subjects(report, "kafka.ce_id") == {paid.order_id}
    assert report.kinds() == {"kafka.ce_id"}


def test_a_redelivery_on_another_partition_breaks_the_order(world: World) -> None:
    paid = world.paid[0]
    [record] = world.records(paid.order_id)
    partitions = world.partitions()
    assert partitions > 1, "one partition: nowhere else to put it"
    world.publish(record, partition=(record.partition + 1) % partitions)

    report = world.run()

    assert subjects(report, "kafka.order") == {paid.order_id}
    assert report.kinds() == {"kafka.order"}


def test_a_redelivery_with_another_amount_is_a_payload_violation(world: World) -> None:
    paid = world.paid[2]
    [record] = world.records(paid.order_id)
    body = json.loads(record.value or b"")
    world.publish(record, value=json.dumps(body | {"amount": body["amount"] + 1}).encode())

    report = world.run()

    assert subjects(report, "kafka.payload") == {paid.order_id}
    # The same ce_id with another value: a redelivery that is not one, whatever it says.
    assert report.kinds() == {"kafka.payload", "kafka.duplicate_mismatch"}


# -- money -------------------------------------------------------------------------------


def test_a_charge_for_a_payment_the_log_does_not_have_is_an_orphan(world: World) -> None:
    stranger = str(uuid.uuid4())
    for _ in _held_webhooks(world.shop):
        world.shop.stripe.v1.payment_intents.create(
            {
                "amount": 2500,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"paymentId": stranger, "orderId": str(uuid.uuid4())},
            }
        )
        report = world.run()

    assert subjects(report, "money.orphan_capture") == {stranger}
    assert report.kinds() == {"money.orphan_capture"}


def test_a_razorpay_order_paid_twice_is_an_extra_capture(world: World) -> None:
    paid = world.paid[1]
    gateway_order_id = world.shop.payment(paid.order_id, paid.customer)["gatewayOrderId"]
    for _ in _held_webhooks(world.shop):
        again = world.shop.pay_razorpay(gateway_order_id, allowDuplicate=True)
        assert again.status_code == 200, again.text
        report = world.run()

    assert subjects(report, "money.extra_capture") == {world.payment_id(paid.order_id)}
    assert report.kinds() == {"money.extra_capture"}
