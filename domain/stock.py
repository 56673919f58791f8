"""Stock per sku: units on hand and the units held for open orders.

A reservation holds units while an order waits for payment; it ends either as a sale
(``commit``, on_hand decreases) or by ``release`` (cancelled or expired order). Keeping
reservations per order makes both idempotency checks and audits possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import actors, bounds
from domain.errors import (
    DuplicateReservation,
    InsufficientStock,
    InvalidQuantity,
    UnknownReservation,
)
from domain.identity import stable_id


def _positive(quantity: int, sku: str) -> int:
    if type(quantity) is not int or quantity < 1:
        raise InvalidQuantity(quantity, sku)
    return quantity


def validate_units(units: int, sku: str) -> int:
    """A count of units a sku can hold: an int from 0 to ``bounds.MAX_STOCK``."""
    if type(units) is not int or units < 0:
        raise InvalidQuantity(units, sku)
    return bounds.amount(units, "stock", 0, bounds.MAX_STOCK)


class Stock(Aggregate):
    """Units of one sku. Invariant: 0 <= reserved <= on_hand.

    Version 2 of every event added the actor who moved the units (adr/0016): an admin or
    the catalog CLI for counts, the customer for a reservation, the customer or the reaper
    for a release, the provider's webhook for a sale. Older events read ``unknown``.
    """

    class Created(Aggregate.Created):
        class_version = 2
        sku: str
        on_hand: int
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

    class Restocked(Aggregate.Event):
        class_version = 2
        quantity: int
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Stock) -> None:
            aggregate.on_hand += self.quantity

    class OnHandSet(Aggregate.Event):
        class_version = 2
        on_hand: int
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Stock) -> None:
            aggregate.on_hand = self.on_hand

    class Reserved(Aggregate.Event):
        class_version = 2
        order_id: str
        quantity: int
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Stock) -> None:
            aggregate.reservations[self.order_id] = self.quantity

    class Released(Aggregate.Event):
        class_version = 2
        order_id: str
        reason: str
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Stock) -> None:
            del aggregate.reservations[self.order_id]

    class Committed(Aggregate.Event):
        class_version = 2
        order_id: str
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Stock) -> None:
            aggregate.on_hand -= aggregate.reservations.pop(self.order_id)

    def __init__(self, sku: str, on_hand: int) -> None:
        self.sku = sku
        self.on_hand = on_hand
        self.reservations: dict[str, int] = {}

    @staticmethod
    def id_for(sku: str) -> UUID:
        return stable_id("stock", sku)

    @classmethod
    def create(cls, sku: str, on_hand: int = 0, actor: str = actors.UNKNOWN) -> Stock:
        on_hand = validate_units(on_hand, sku)
        bounds.actor(actor)
        return cls._create(cls.Created, id=cls.id_for(sku), sku=sku, on_hand=on_hand, actor=actor)

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def has_reservation(self, order_id: UUID | str) -> bool:
        return str(order_id) in self.reservations

    def reserved_for(self, order_id: UUID | str) -> int:
        return self.reservations.get(str(order_id), 0)

    def restock(self, quantity: int, actor: str = actors.UNKNOWN) -> None:
        """Add units (a delivery arrived): what is reserved or sold stays as it is."""
        _positive(quantity, self.sku)
        bounds.amount(self.on_hand + quantity, "stock", 0, bounds.MAX_STOCK)
        bounds.actor(actor)
        self.trigger_event(self.Restocked, quantity=quantity, actor=actor)

    def set_available(self, available: int, actor: str = actors.UNKNOWN) -> bool:
        """Make ``available`` units sellable on top of what open orders hold; False if so.

        Units already sold left on_hand when they were committed, and reserved units stay
        held, so this can never put a sold or held unit on sale again.
        """
        validate_units(available, self.sku)
        on_hand = self.reserved + available
        bounds.amount(on_hand, "stock", 0, bounds.MAX_STOCK)
        bounds.actor(actor)
        if on_hand == self.on_hand:
            return False
        self.trigger_event(self.OnHandSet, on_hand=on_hand, actor=actor)
        return True

    def check_reservable(self, order_id: UUID | str, quantity: int) -> bool:
        """Validate a reservation without recording it; False if stock is short.

        Raises for caller errors (bad quantity, duplicate order), returns False only for
        shortage so that :func:`reserve_all` can collect every short sku first.
        """
        _positive(quantity, self.sku)
        if self.has_reservation(order_id):
            raise DuplicateReservation(self.sku, str(order_id))
        return quantity <= self.available

    def reserve(self, order_id: UUID | str, quantity: int, actor: str = actors.UNKNOWN) -> None:
        if not self.check_reservable(order_id, quantity):
            raise InsufficientStock([self.sku])
        bounds.actor(actor)
        self.trigger_event(self.Reserved, order_id=str(order_id), quantity=quantity, actor=actor)

    def release(self, order_id: UUID | str, reason: str, actor: str = actors.UNKNOWN) -> None:
        if not self.has_reservation(order_id):
            raise UnknownReservation(self.sku, str(order_id), "release")
        bounds.actor(actor)
        self.trigger_event(self.Released, order_id=str(order_id), reason=reason, actor=actor)

    def commit(self, order_id: UUID | str, actor: str = actors.UNKNOWN) -> None:
        """Turn the order's reservation into a sale."""
        if not self.has_reservation(order_id):
            raise UnknownReservation(self.sku, str(order_id), "commit")
        bounds.actor(actor)
        self.trigger_event(self.Committed, order_id=str(order_id), actor=actor)


def reserve_all(
    stocks: Mapping[str, Stock],
    wanted: Mapping[str, int],
    order_id: UUID | str,
    actor: str = actors.UNKNOWN,
) -> None:
    """Reserve every wanted sku for one order, or nothing at all.

    All skus are checked before any event is recorded, and one :class:`InsufficientStock`
    names every short sku, so the customer learns everything wrong with the cart at once
    and a failed checkout leaves no stray reservations. A sku missing from ``stocks`` counts
    as short (nothing on hand).
    """
    for sku, quantity in wanted.items():
        _positive(quantity, sku)
    short = [
        sku
        for sku, quantity in wanted.items()
        if sku not in stocks or not stocks[sku].check_reservable(order_id, quantity)
    ]
    if short:
        raise InsufficientStock(short)
    for sku, quantity in wanted.items():
        stocks[sku].reserve(order_id, quantity, actor)
