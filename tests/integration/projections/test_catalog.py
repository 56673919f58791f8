"""The catalog view behind GET /products: prices and units still available."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry, StockMode
from application.checkout import CartItem, Checkout, CheckoutRequest
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import SystemClock
from projections import CatalogView
from projections.queries import ProductQueries
from projections.rebuild import rebuild
from projections.runner import ProjectionRunner


def listing(app: CheckoutApplication, db: Engine) -> dict[str, dict[str, object]]:
    ProjectionRunner(app, db, CatalogView()).catch_up()
    return {p["sku"]: p for p in ProductQueries(db).list_active()}


def test_available_follows_reservations_sales_and_releases(
    app: CheckoutApplication, db: Engine
) -> None:
    catalog = Catalog(app)
    catalog.upsert(
        [
            CatalogEntry("MUG", "Mug", "v1", 1250, "USD", 10),
            CatalogEntry("OLD", "Retired", "v2", 100, "USD", 3, active=False),
        ]
    )
    assert listing(app, db) == {
        "MUG": {
            "sku": "MUG",
            "name": "Mug",
            "vendorId": "v1",
            "unitAmount": 1250,
            "currency": "USD",
            "available": 10,
        }
    }
    checkout = Checkout(app, SystemClock(), timedelta(minutes=30))
    paid = checkout(CheckoutRequest("a", (CartItem("MUG", 3),), "stripe"))
    cancelled = checkout(CheckoutRequest("b", (CartItem("MUG", 2),), "stripe"))
    assert listing(app, db)["MUG"]["available"] == 5
    PaymentOutcomes(app).succeeded(
        paid.payment.id, "pi_1", paid.payment.amount, paid.payment.currency
    )
    OrderLifecycle(app).cancel(cancelled.order.id, "changed mind")
    assert listing(app, db)["MUG"]["available"] == 7
    catalog.upsert([CatalogEntry("MUG", "Big mug", "v1", 1500, "USD", 20)])
    mug = listing(app, db)["MUG"]
    # An upsert keeps an existing sku's stock: the 3 sold stay sold.
    assert (mug["name"], mug["unitAmount"], mug["available"]) == ("Big mug", 1500, 7)
    catalog.upsert([CatalogEntry("MUG", "Big mug", "v1", 1500, "USD", 20)], StockMode.AVAILABLE)
    assert listing(app, db)["MUG"]["available"] == 20


def test_rebuild_gives_the_same_catalog(app: CheckoutApplication, db: Engine) -> None:
    Catalog(app).upsert(
        [CatalogEntry(f"SKU-{n}", f"Item {n}", "v", 100 + n, "EUR", n) for n in range(30)]
    )
    before = listing(app, db)
    result = rebuild(app, db, CatalogView())
    assert result.events == app.head_position()
    assert {p["sku"]: p for p in ProductQueries(db).list_active()} == before
