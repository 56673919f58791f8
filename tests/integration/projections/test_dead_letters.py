"""A follower fed an event it cannot apply stops loudly, and goes on once a person decides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from domain import Product
from infrastructure.followers import FollowerCollector, check_followers, retry, skip
from projections.catalog import CatalogView
from projections.dead_letters import DeadLetters
from projections.follower import DomainEvent
from projections.projection import Handler
from projections.queries import ProductQueries
from tests.integration.projections.conftest import StartRunner
from tests.waiting import wait_until


def _poisoned_product(app: CheckoutApplication, sku: str) -> int:
    """A product priced beyond what a view can store, as an old release could record it."""
    product = Product._create(
        Product.Registered,
        id=Product.id_for(sku),
        sku=sku,
        name="Poison",
        vendor_id="v",
        unit_amount=2**63,
        currency="USD",
    )
    return app.save(product)[-1].notification.id


def _product(app: CheckoutApplication, sku: str) -> int:
    return app.save(Product.register(sku, sku, "v", 100, "USD"))[-1].notification.id


def _skus(db: Engine) -> set[str]:
    return {p["sku"] for p in ProductQueries(db).list_active()}


def _metric(db: Engine, name: str, follower: str) -> float | None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FollowerCollector(db))
    return registry.get_sample_value(name, {"follower": follower})


def test_an_event_a_view_cannot_store_stops_it_until_skipped(
    app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    _product(app, "BEFORE")
    poison = _poisoned_product(app, "POISON")
    _product(app, "AFTER")

    running = start_runner(CatalogView(), stall_poll=0.05)

    wait_until(running.runner.stalled.is_set, what="the catalog view to stop at the event")
    [letter] = DeadLetters(db).unresolved("catalog")
    assert letter.position == poison
    assert "DataError" in letter.error
    assert letter.topic.endswith("Product.Registered")
    assert _skus(db) == {"BEFORE"}, "everything before the event was applied, nothing after"
    assert _metric(db, "checkout_follower_stalled", "catalog") == 1
    assert _metric(db, "checkout_follower_dead_letters", "catalog") == 1
    assert _metric(db, "checkout_follower_stalled", "orders") == 0
    ready = check_followers(db)
    assert not ready.ok
    assert f"catalog stopped at {poison}" in ready.detail

    skip(db, "catalog", poison, "ops:ann", "price from a broken import; re-entered by hand")

    wait_until(lambda: _skus(db) == {"BEFORE", "AFTER"}, what="the view to go on")
    assert not running.runner.stalled.is_set()
    decided = DeadLetters(db).get("catalog", poison)
    assert decided is not None
    assert (decided.resolution, decided.resolved_by) == ("skipped", "ops:ann")
    assert decided.resolution_reason == "price from a broken import; re-entered by hand"
    assert check_followers(db).ok
    assert _metric(db, "checkout_follower_stalled", "catalog") == 0
    assert running.errors == []


class Fragile(CatalogView):
    """A view whose own code fails on one sku until it is fixed (``broken`` cleared)."""

    name: ClassVar[str] = "fragile"
    broken: ClassVar[set[str]] = {"BUG"}
    handlers: ClassVar[Mapping[type[Any], Handler]] = CatalogView.handlers

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        for event in domain_events:
            if getattr(event, "sku", None) in self.broken:
                raise KeyError(f"no handler case for {event.sku}")  # type: ignore[attr-defined]
        super().apply_batch(conn, domain_events)


def test_a_bug_in_a_projection_stops_it_and_retry_applies_the_event_once_fixed(
    app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    Fragile.broken = {"BUG"}
    bug = _product(app, "BUG")
    running = start_runner(Fragile(), stall_poll=0.05)
    wait_until(running.runner.stalled.is_set, what="the view to stop at the event")

    retry(db, "fragile", "ops:bob", "not fixed yet")
    wait_until(
        lambda: (d := DeadLetters(db).get("fragile", bug)) and d.attempts == 2,
        what="a second, failing try",
    )
    wait_until(running.runner.stalled.is_set, what="the view stopped again")
    Fragile.broken.clear()  # the fix ships
    retry(db, "fragile", "ops:bob", "fixed in the handler")

    wait_until(lambda: not running.runner.stalled.is_set(), what="the view to go on")
    wait_until(lambda: running.runner.position >= bug, what="the event applied")
    assert DeadLetters(db).unresolved("fragile") == []
    assert running.errors == []
