"""The application's own save and fold: the library's behaviour, without its per-call
runtime protocol checks."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import project_aggregate

from application.application import CheckoutApplication, FoldingRepository, mutates, project
from domain import Stock


def _stock_with_history(reservations: int = 30) -> Stock:
    stock = Stock.create("FOLD", 1000, actor="admin:ops")
    for n in range(reservations):
        stock.reserve(f"order-{n}", 1, actor="customer:alice")
    return stock


def test_project_folds_as_the_library_does() -> None:
    events = _stock_with_history().collect_events()

    ours, theirs = project(None, events), project_aggregate(None, events)

    assert vars(ours) == vars(theirs)
    assert (ours.version, ours.reserved) == (31, 30)


def test_an_event_that_cannot_mutate_is_refused() -> None:
    class NotAnEvent:
        pass

    assert not mutates(NotAnEvent())
    with pytest.raises(TypeError, match="cannot mutate"):
        project(None, [NotAnEvent()])


def test_the_repository_folds_with_project_and_still_starts_at_snapshots(
    app: CheckoutApplication,
) -> None:
    assert isinstance(app.repository, FoldingRepository)
    stock = _stock_with_history(60)  # its 50th event made a snapshot
    app.save(stock)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(stock.id)] == [61]
    stock.reserve("order-late", 2, actor="customer:bob")
    app.save(stock)
    folded: list[int] = []

    def counting(aggregate: Any, events: Any) -> Any:
        events = list(events)
        folded.append(len(events))
        return project(aggregate, events)

    loaded = app.repository.get(stock.id, projector_func=counting)

    assert folded == [2]  # the snapshot and the one event after it
    assert (loaded.version, loaded.reserved) == (62, 62)
    assert vars(app.repository.get(stock.id)) == vars(loaded)


def test_save_records_caches_and_notifies_as_the_library_does(
    app: CheckoutApplication,
) -> None:
    stock = _stock_with_history(3)
    seen: list[Any] = []
    app.notify = seen.extend  # type: ignore[method-assign,assignment]

    recordings = app.save(stock, None)

    assert [r.domain_event.originator_version for r in recordings] == [1, 2, 3, 4]
    assert [e.originator_version for e in seen] == [1, 2, 3, 4]
    assert not stock.pending_events
    assert app.load(Stock, stock.id).reserved == 3
    [event] = Stock.create("ALONE", 5, actor="admin:ops").collect_events()
    assert app.save(event)[0].domain_event is event  # an event on its own, the library's way
