"""Read models of checkout-engine: one module per view, exactly-once projection runners.

Nothing here connects at import time; the projection objects only name their tables.
"""

from __future__ import annotations

from projections.catalog_view import CatalogView
from projections.order_view import OrderView
from projections.payment_status_view import PaymentStatusView
from projections.projection import Projection
from projections.review_view import CaptureReviewView

ALL_PROJECTIONS: tuple[Projection, ...] = (
    OrderView(),
    PaymentStatusView(),
    CatalogView(),
    CaptureReviewView(),
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
    "CaptureReviewView",
    "CatalogView",
    "OrderView",
    "PaymentStatusView",
    "Projection",
    "UnknownProjection",
    "projection_named",
]
