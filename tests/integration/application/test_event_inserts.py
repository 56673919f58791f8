"""The recorder's insert (rows as plain arrays): every event where the library would put
it, its notification id handed back in the order the events were given."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from application.application import CheckoutApplication
from domain import Stock


def test_a_save_of_many_events_gets_their_ids_in_order_and_reads_back_whole(
    app: CheckoutApplication,
) -> None:
    stocks = [Stock.create(f"INSERT-{n}", 10, actor="admin:ops") for n in range(5)]
    for stock in stocks:
        for order in range(7):
            stock.reserve(f"order-{order}", 1, actor="customer:alice")
    head = app.head_position()

    recordings = app.save(*stocks)

    ids = [r.notification.id for r in recordings]
    assert ids == list(range(head + 1, head + 41))
    notifications = app.recorder.select_notifications(head, 40, inclusive_of_start=False)
    for recording, notification in zip(recordings, notifications, strict=True):
        event = recording.domain_event
        assert notification.id == recording.notification.id
        assert (notification.originator_id, notification.originator_version) == (
            event.originator_id,
            event.originator_version,
        )
        assert notification.topic == recording.notification.topic
        assert notification.state == recording.notification.state
    assert [app.load(Stock, s.id).reserved for s in stocks] == [7] * 5


def test_a_version_taken_twice_is_refused_and_writes_nothing(app: CheckoutApplication) -> None:
    stock = Stock.create("INSERT-TWICE", 10, actor="admin:ops")
    app.save(stock)
    first = app.load(Stock, stock.id)
    second = app.load(Stock, stock.id)
    first.reserve("order-a", 1, actor="customer:alice")
    second.reserve("order-b", 1, actor="customer:bob")
    app.save(first)
    head = app.head_position()

    with pytest.raises(IntegrityError):
        app.save(second)

    assert app.head_position() == head
    assert app.load(Stock, stock.id).reserved == 1
