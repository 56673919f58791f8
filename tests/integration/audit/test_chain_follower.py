"""The audit chain follower on PostgreSQL: every event chained, in log order, after commit;
one active instance; anchors to the data dir's file and to Kafka (adr/0015)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.bootstrap import Container, Services
from infrastructure.audit.anchors import AnchorPolicy, read_anchor_lines, read_kafka_anchors
from infrastructure.audit.chain import FOLLOWER_NAME, GENESIS, AuditChain, chain_link
from infrastructure.settings import Settings, load_settings
from projections.tracking import position
from tests.integration.shop import TTL, Shop
from tests.waiting import wait_until

KEY = "an-audit-key-of-at-least-32-bytes!"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings(
        PAYMENT_TTL_SECONDS=str(int(TTL.total_seconds())),
        CHECKOUT_DATA_DIR=str(data_dir),
        CHECKOUT_AUDIT_KEY=KEY,
        KAFKA_TOPIC_AUDIT_ANCHORS="audit.anchors.follower-tests",
    )


@pytest.fixture
def running(container: Container, db: Engine) -> Iterator[AuditChain]:
    """The follower as the projector role runs it, on its own thread."""
    chain = container.audit_chain(anchor_policy=AnchorPolicy(every_events=5, every_seconds=3600))
    stop = threading.Event()
    thread = threading.Thread(target=chain.run_forever, args=(stop,), daemon=True)
    thread.start()
    yield chain
    stop.set()
    thread.join(timeout=10)


def chained(db: Engine) -> list[tuple[int, str]]:
    with db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT notification_id, link FROM audit_chain ORDER BY notification_id")
        )
        return [(int(n), str(link)) for n, link in rows]


def test_the_follower_chains_every_event_in_log_order(
    shop: Shop, app: CheckoutApplication, db: Engine, running: AuditChain
) -> None:
    for _ in range(3):
        shop.paid_order()
    head = app.head_position()

    wait_until(lambda: position(db, FOLLOWER_NAME) == head, what="the chain at the head")
    rows = chained(db)
    events = app.recorder.select_notifications(start=None, limit=10_000)
    assert [n for n, _ in rows] == [e.id for e in events]
    previous = GENESIS
    for (_, link), event in zip(rows, events, strict=True):
        previous = chain_link(previous, event.id, event)
        assert link == previous.hex()

    shop.paid_order()  # events committed later are chained on the NOTIFY
    wait_until(lambda: position(db, FOLLOWER_NAME) == app.head_position(), what="next events")
    assert len(chained(db)) == app.head_position()


def test_anchors_every_n_events_go_to_the_data_dir_signed(
    shop: Shop, app: CheckoutApplication, db: Engine, running: AuditChain, data_dir: Path
) -> None:
    shop.paid_order()
    anchors_file = data_dir / "audit" / "anchors.jsonl"
    wait_until(lambda: anchors_file.exists(), what="the first anchor")
    anchors, problems = read_anchor_lines(anchors_file.read_text().splitlines())

    assert problems == []
    links = dict(chained(db))
    for anchor in anchors:
        assert anchor.link == links[anchor.notification_id]
        assert anchor.signature_holds(KEY.encode())


def test_one_instance_chains_while_another_stands_by(
    shop: Shop, container: Container, db: Engine, running: AuditChain
) -> None:
    wait_until(running.active.is_set, what="the first follower active")
    standby = container.audit_chain()
    stop = threading.Event()
    thread = threading.Thread(target=standby.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        shop.paid_order()
        wait_until(lambda: position(db, FOLLOWER_NAME) == shop.app.head_position())
        assert not standby.active.is_set()
    finally:
        stop.set()
        thread.join(timeout=10)
    # Exactly one row per event: nobody chained twice.
    assert len(chained(db)) == shop.app.head_position()


def test_catch_up_beside_a_live_follower_chains_each_event_once(
    shop: Shop, container: Container, db: Engine, running: AuditChain
) -> None:
    for _ in range(5):
        shop.place()
    container.audit_chain().catch_up()
    wait_until(lambda: position(db, FOLLOWER_NAME) == shop.app.head_position())
    assert [n for n, _ in chained(db)] == list(range(1, shop.app.head_position() + 1))


class TestKafkaAnchors:
    @pytest.fixture
    def services(self, database_url: str, bootstrap_servers: str) -> Services:
        return Services(database_url, bootstrap_servers, "")

    @pytest.fixture
    def settings(self, data_dir: Path, topic_suffix: str) -> Settings:
        return load_settings(
            CHECKOUT_DATA_DIR=str(data_dir),
            KAFKA_TOPIC_AUDIT_ANCHORS=f"audit.anchors.{topic_suffix}",
        )

    def test_anchors_are_published_to_the_anchor_topic(
        self,
        shop: Shop,
        db: Engine,
        running: AuditChain,
        bootstrap_servers: str,
        settings: Settings,
    ) -> None:
        shop.paid_order()
        topic = settings.kafka_topic_audit_anchors
        config = {"bootstrap.servers": bootstrap_servers}
        anchors = wait_until(lambda: read_kafka_anchors(config, topic), timeout=30)
        links = dict(chained(db))
        assert all(isinstance(a, str) is False for a in anchors)
        for anchor in anchors:
            assert not isinstance(anchor, str)
            assert anchor.link == links[anchor.notification_id]
            assert anchor.signature is None  # no CHECKOUT_AUDIT_KEY in these settings
