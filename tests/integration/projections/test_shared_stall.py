"""One follower refusing an event stops alone: the others sharing its pages go on, and it
catches up on its own once an operator decides, then shares their pages again."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from domain import Product
from infrastructure.followers import check_followers, retry, skip
from projections.catalog import CatalogView
from projections.dead_letters import DeadLetters
from projections.follower import DomainEvent
from projections.orders import OrdersView
from projections.projection import Handler
from projections.queries import OrderQueries
from projections.runner import ProjectionRunner, position
from tests.integration.projections.histories import Histories
from tests.integration.projections.sharing import StartShared
from tests.waiting import wait_until


class Fragile(CatalogView):
    """A view whose own code fails on some skus until it is fixed (``broken`` cleared)."""

    name: ClassVar[str] = "fragile"
    broken: ClassVar[set[str]] = set()
    handlers: ClassVar[Mapping[type[Any], Handler]] = CatalogView.handlers

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        for event in domain_events:
            if getattr(event, "sku", None) in self.broken:
                raise KeyError(f"no handler case for {event.sku}")  # type: ignore[attr-defined]
        super().apply_batch(conn, domain_events)


def _product(app: CheckoutApplication, sku: str) -> int:
    return app.save(Product.register(sku, sku, "v", 100, "USD"))[-1].notification.id


def test_a_refused_event_stops_only_its_follower_which_rejoins_after_a_retry(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    Fragile.broken = {"BUG"}
    running = start_shared([OrdersView(), Fragile()], stall_poll=0.05)
    bug = _product(app, "BUG")
    wait_until(running.shared.stalled.is_set, what="the fragile view to stop at the event")
    assert position(db, "fragile") == bug - 1

    for n in range(3):  # the others keep following the log meanwhile
        order, _ = histories.place(customer_id=f"while-stopped-{n}")
        wait_until(lambda: OrderQueries(db).get(order.id), what="orders go on")  # noqa: B023
    assert position(db, "orders") == app.head_position()
    assert position(db, "fragile") == bug - 1
    assert running.shared.member("fragile").stalled_at == bug
    assert not check_followers(db).ok

    Fragile.broken.clear()  # the fix ships
    retry(db, "fragile", "ops:ann", "fixed in the handler")
    wait_until(lambda: not running.shared.stalled.is_set(), what="the view to resume")
    wait_until(lambda: position(db, "fragile") == app.head_position(), what="its catch-up")
    wait_until(lambda: not running.shared.member("fragile").catching_up, what="it to rejoin")
    order, _ = histories.place(customer_id="after")
    wait_until(lambda: position(db, "fragile") == position(db, "orders") == app.head_position())
    assert DeadLetters(db).unresolved() == []
    assert check_followers(db).ok
    assert running.errors == []


def test_a_skipped_event_moves_the_stopped_follower_past_it_and_the_others_never_wait(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    Fragile.broken = {"SKIPPED"}
    running = start_shared([Fragile(), OrdersView()], stall_poll=0.05, batch_size=2)
    _product(app, "BEFORE")
    skipped = _product(app, "SKIPPED")
    _product(app, "AFTER")
    wait_until(running.shared.stalled.is_set)
    wait_until(lambda: position(db, "orders") == app.head_position(), what="orders go on")

    skip(db, "fragile", skipped, "ops:bob", "a broken import")
    wait_until(lambda: position(db, "fragile") == app.head_position(), what="the view to go on")
    assert not running.shared.stalled.is_set()
    assert running.errors == []


def test_a_follower_held_by_a_previous_release_is_taken_over_when_it_stops(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    """Rolling deploy: an old runner keeps its lock; the shared follower runs the others and
    takes that follower over, from its committed position, once the old runner is gone."""
    old = ProjectionRunner(app, db, OrdersView(), standby_retry=0.05)
    stop_old = threading.Event()
    old_thread = threading.Thread(target=old.run_forever, args=(stop_old,), daemon=True)
    old_thread.start()
    wait_until(old.active.is_set, what="the old release's runner to lead")

    shared = start_shared([OrdersView(), Fragile()], standby_retry=0.05)
    wait_until(shared.shared.active.is_set, what="the shared follower to lead")
    first, _ = histories.place(customer_id="old-release")
    wait_until(lambda: position(db, "fragile") == app.head_position())
    assert not shared.shared.member("orders").locked  # the old runner still has it
    wait_until(lambda: OrderQueries(db).get(first.id), what="the old runner to apply it")

    stop_old.set()
    old_thread.join(timeout=15)
    wait_until(lambda: shared.shared.member("orders").locked, what="the takeover")
    second, _ = histories.place(customer_id="new-release")
    wait_until(lambda: OrderQueries(db).get(second.id), what="the new owner to apply it")
    assert position(db, "orders") == app.head_position()
    assert shared.errors == []
