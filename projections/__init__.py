"""Read models of checkout-engine: one module per view, exactly-once projection runners.

Each view has one name, for its module, its class and its projection name (the name
`checkout-engine projections rebuild NAME` takes, and its tracking row, dead letters and
metrics label carry): orders, payments, catalog, reviews. Their tables keep their first
names (order_view, payment_status_view, product_view, capture_review_view).

Nothing here connects at import time; the projection objects only name their tables.
"""

from __future__ import annotations

from projections.catalog import CatalogView
from projections.follower import Follower
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.projection import Projection
from projections.reviews import ReviewsView

ALL_PROJECTIONS: tuple[Projection, ...] = (
    OrdersView(),
    PaymentsView(),
    CatalogView(),
    ReviewsView(),
)

PROJECTIONS_BY_NAME: dict[str, Projection] = {p.name: p for p in ALL_PROJECTIONS}


class UnknownProjection(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no projection named {name!r} (known: {', '.join(PROJECTIONS_BY_NAME)})")


def projection_named(name: str) -> Projection:
    try:
        return PROJECTIONS_BY_NAME[name]
    except KeyError:
        raise UnknownProjection(name) from None


__all__ = [
    "ALL_PROJECTIONS",
    "PROJECTIONS_BY_NAME",
    "CatalogView",
    "Follower",
    "OrdersView",
    "PaymentsView",
    "Projection",
    "ReviewsView",
    "UnknownProjection",
    "projection_named",
]
