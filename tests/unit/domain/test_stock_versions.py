"""Stock events and snapshots stored before counts (v2, adr/0021) load to the same state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import MutableOrImmutableAggregate, Snapshot
from eventsourcing.persistence import StoredEvent

from domain import DuplicateReservation, Stock, UnknownReservation
from tests.old_stock_events import as_v2 as stored_as_v2


class Snapshotting(Application[UUID]):
    # Snapshots are taken by hand here; the interval only gives the app a snapshot store.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Stock: 10_000
    }


@pytest.fixture
def app() -> Iterator[Application[UUID]]:
    application = Snapshotting()
    yield application
    application.close()


def as_v2(app: Application[UUID], event: Any) -> StoredEvent:
    return stored_as_v2(app.mapper, event)


def load(app: Application[UUID], stock_id: UUID) -> Stock:
    stock: object = app.repository.get(stock_id)
    assert isinstance(stock, Stock)
    return stock


def store(app: Application[UUID], events: list[StoredEvent]) -> Stock:
    app.recorder.insert_events(events)
    return load(app, Stock.id_for("SKU-A"))


def test_v2_events_upcast_to_a_remembered_reservation_and_no_quantity(
    app: Application[UUID],
) -> None:
    item, order = Stock.create("SKU-A", 10), uuid4()
    item.reserve(order, 2)
    item.release(order, 2, "cancelled")
    item.reserve(uuid4(), 1)
    item.commit(order, 1)
    _, reserved, released, _, committed = (
        app.mapper.to_domain_event(as_v2(app, e)) for e in item.collect_events()
    )
    assert isinstance(reserved, Stock.Reserved)
    assert (reserved.quantity, reserved.legacy) == (2, True)
    assert isinstance(released, Stock.Released)
    assert (released.quantity, released.reason) == (None, "cancelled")
    assert isinstance(committed, Stock.Committed)
    assert committed.quantity is None


def test_new_events_are_stored_at_version_3_with_their_quantity(app: Application[UUID]) -> None:
    item, order = Stock.create("SKU-A", 10), uuid4()
    item.reserve(order, 2)
    item.commit(order, 2)
    states = [app.mapper.transcoder.decode(app.mapper.to_stored_event(e).state) for e in
              item.collect_events()[1:]]  # fmt: skip
    assert [(s["class_version"], s["quantity"]) for s in states] == [(3, 2), (3, 2)]
    assert states[0]["legacy"] is False


def test_a_v2_stream_loads_to_the_same_counts(app: Application[UUID]) -> None:
    item, sold, dropped, open_ = Stock.create("SKU-A", 10), uuid4(), uuid4(), uuid4()
    item.reserve(sold, 3)
    item.reserve(dropped, 2)
    item.reserve(open_, 4)
    item.commit(sold, 3)
    item.release(dropped, 2, "expired")
    loaded = store(app, [as_v2(app, e) for e in item.collect_events()])
    assert (loaded.on_hand, loaded.reserved, loaded.available) == (7, 4, 3)
    assert loaded.legacy_reservations == {str(open_): 4}, "only the open v2 order is kept"


def test_a_remembered_order_ends_with_a_new_event_and_is_forgotten(
    app: Application[UUID],
) -> None:
    item, old, new = Stock.create("SKU-A", 10), uuid4(), uuid4()
    item.reserve(old, 4)
    loaded = store(app, [as_v2(app, e) for e in item.collect_events()])
    loaded.reserve(new, 1)
    with pytest.raises(UnknownReservation, match="holding 4 units for order"):
        loaded.release(old, 3, "cancelled")  # the old order reserved 4: its lines say so
    with pytest.raises(DuplicateReservation):
        loaded.reserve(old, 1)
    loaded.release(old, 4, "cancelled")
    app.save(loaded)
    again = load(app, loaded.id)
    assert (again.on_hand, again.reserved, again.legacy_reservations) == (10, 1, {})


def test_a_mixed_stream_of_v2_and_v3_events_loads(app: Application[UUID]) -> None:
    item, old, new = Stock.create("SKU-A", 10), uuid4(), uuid4()
    item.reserve(old, 4)
    old_events = [as_v2(app, e) for e in item.collect_events()]
    item.reserve(new, 2)
    item.commit(old, 4)  # v2 would not say 4 ...
    item.commit(new, 2)
    reserved_new, commit_old, commit_new = item.collect_events()
    mixed = [
        *old_events,
        app.mapper.to_stored_event(reserved_new),
        as_v2(app, commit_old),  # ... so this one takes it from the remembered order
        app.mapper.to_stored_event(commit_new),
    ]
    loaded = store(app, mixed)
    assert (loaded.on_hand, loaded.reserved, loaded.legacy_reservations) == (4, 0, {})


def test_a_v2_release_of_an_order_never_reserved_does_not_load(
    app: Application[UUID],
) -> None:
    item, order = Stock.create("SKU-A", 10), uuid4()
    item.reserve(order, 2)
    item.release(order, 2, "forged")
    *before, released = (as_v2(app, e) for e in item.collect_events())
    state = app.mapper.transcoder.decode(released.state)
    state["order_id"] = str(uuid4())  # no reservation of this order to take the units from
    forged = app.mapper.transcoder.encode(state)
    app.recorder.insert_events([*before, replace(released, state=forged)])
    with pytest.raises(UnknownReservation, match="cannot settle"):
        load(app, item.id)


def old_snapshot(app: Application[UUID], stock: Stock, reservations: dict[str, int]) -> None:
    """A snapshot as the aggregate before counts took it: its __dict__, with the map."""
    stored = app.mapper.to_stored_event(Snapshot.take(stock))
    outer: dict[str, Any] = app.mapper.transcoder.decode(stored.state)
    state = outer["state"]
    assert state.pop("class_version") == 2
    del state["reserved"], state["legacy_reservations"]
    state["reservations"] = reservations
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events(
        [StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                     app.mapper.transcoder.encode(outer))]
    )  # fmt: skip


def test_an_old_snapshot_loads_as_counts_and_remembered_orders(app: Application[UUID]) -> None:
    item, sold, open_ = Stock.create("SKU-A", 10), uuid4(), uuid4()
    item.reserve(sold, 3)
    item.reserve(open_, 2)
    old = [as_v2(app, e) for e in item.collect_events()]
    app.recorder.insert_events(old)
    old_snapshot(app, item, {str(sold): 3, str(open_): 2})
    item.commit(sold, 3)  # after the snapshot, as v2 wrote it
    app.recorder.insert_events([as_v2(app, e) for e in item.collect_events()])

    loaded = load(app, item.id)

    assert loaded.version == 4
    assert (loaded.on_hand, loaded.reserved, loaded.available) == (7, 2, 5)
    assert loaded.legacy_reservations == {str(open_): 2}
    assert "reservations" not in vars(loaded)


def test_a_new_snapshot_holds_counts_only(app: Application[UUID]) -> None:
    item = Stock.create("SKU-A", 1000)
    for _ in range(300):
        item.reserve(uuid4(), 3)
    app.save(item)
    assert app.snapshots is not None
    app.take_snapshot(item.id)
    [snapshot] = app.snapshots.get(item.id)
    assert isinstance(snapshot, Snapshot)
    assert {k: v for k, v in snapshot.state.items() if not k.startswith("_")} == {
        "class_version": 2,
        "sku": "SKU-A",
        "on_hand": 1000,
        "reserved": 900,
        "legacy_reservations": {},
    }
    loaded = load(app, item.id)
    assert (loaded.reserved, loaded.available, loaded.version) == (900, 100, 301)
