"""The recorder's own reads return what the library's return: the notifications, and the
stored states, read back to the same values by the application's transcoder."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder, Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from application.application import CheckoutApplication
from infrastructure.event_recorder import CheckoutRecorder
from infrastructure.transcoder import FastJSONTranscoder
from tests.integration.projections.histories import Histories


@pytest.fixture
def history(app: CheckoutApplication) -> list[Notification]:
    histories = Histories(app)
    for n in range(6):
        order, payment = histories.place(customer_id=f"customer-{n}", provider="stripe")
        histories.open_provider_order(payment)
        if n % 2:
            histories.pay(order, payment)
    return list(PostgresApplicationRecorder.select_notifications(app.recorder, 1, 10_000))


ORDER_CREATED = "domain.order:Order.Created"
PAYMENT_SUCCEEDED = "domain.payment:Payment.Succeeded"


@pytest.mark.parametrize(
    "query",
    [
        {"start": None, "limit": 10_000},
        {"start": 1, "limit": 10_000},
        {"start": 5, "limit": 7},
        {"start": 5, "limit": 7, "inclusive_of_start": False},
        {"start": 3, "limit": 100, "stop": 20},
        {"start": 0, "limit": 100, "topics": [ORDER_CREATED]},
        {"start": 2, "limit": 4, "stop": 40, "topics": (ORDER_CREATED, PAYMENT_SUCCEEDED)},
        {"start": 10_000, "limit": 10},
    ],
)
def test_notifications_are_read_as_the_library_reads_them(
    query: dict[str, Any], app: CheckoutApplication, history: list[Notification]
) -> None:
    recorder = app.recorder
    assert isinstance(recorder, CheckoutRecorder)
    ours = recorder.select_notifications(**query)
    library = PostgresApplicationRecorder.select_notifications(recorder, **query)
    assert ours == library
    assert all(type(n.state) is bytes for n in ours)
    if query["start"] != 10_000:
        assert ours, "the query found notifications"


def test_the_application_reads_every_stored_state_as_the_library_would(
    app: CheckoutApplication, history: list[Notification]
) -> None:
    transcoder = app.mapper.transcoder
    assert isinstance(transcoder, FastJSONTranscoder)
    library = JSONTranscoder()
    for name, transcoding in transcoder.names.items():
        assert name == transcoding.name
        library.register(transcoding)
    for notification in history:
        assert transcoder.decode(notification.state) == library.decode(notification.state)
        event = app.mapper.to_domain_event(notification)
        assert event.originator_id == notification.originator_id
