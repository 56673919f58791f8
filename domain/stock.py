"""Stock per sku: units on hand and the units held for open orders, as two counts.

A reservation holds units while an order waits for payment; it ends either as a sale
(``commit``, on_hand decreases) or by ``release`` (cancelled or expired order). Since
version 3 of its events the aggregate keeps counts only, so a hot sku's state and its
snapshots stay the same size however many orders are open (adr/0021). The Order owns which
units it holds: its lines give the quantity a release or commit moves, its state machine
allows one of them, and its first event collides for a duplicate checkout, in the same
transaction as the stock change.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
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


def _remembered_reservation(state: dict[str, Any]) -> None:
    # A v2 reservation's release or sale (v2 too) will not say how many units it moves.
    state["legacy"] = True


def _quantity_from_the_reservation(state: dict[str, Any]) -> None:
    state.setdefault("quantity", None)


def _counts_from_the_map(state: dict[str, Any]) -> None:
    """An aggregate snapshot taken before counts: every reservation in it is a v2 one."""
    reservations = {str(k): int(v) for k, v in state.pop("reservations", {}).items()}
    state["reserved"] = sum(reservations.values())
    state["legacy_reservations"] = reservations


class Stock(Aggregate):
    """Units of one sku. Invariant: 0 <= reserved <= on_hand.

    Version 2 of every event added the actor who moved the units (adr/0016): an admin or
    the catalog CLI for counts, the customer for a reservation, the customer or the reaper
    for a release, the provider's webhook for a sale. Older events read ``unknown``.

    Version 3 of ``Released`` and ``Committed`` carries the quantity (adr/0021). Older ones
    do not, so the units of a v2 ``Reserved`` are remembered per order in
    ``legacy_reservations`` until its order ends; v3 reservations only count. Class version
    2 of the aggregate is the snapshot with counts.
    """

    class_version = 2
    upcast_v1_v2 = staticmethod(_counts_from_the_map)

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
        class_version = 3
        order_id: str
        quantity: int
        actor: str = actors.UNKNOWN
        legacy: bool = False  # True only when upcast from v2: remembered per order

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)
        upcast_v2_v3 = staticmethod(_remembered_reservation)

        def apply(self, aggregate: Stock) -> None:
            aggregate.reserved += self.quantity
            if self.legacy:
                aggregate.legacy_reservations[self.order_id] = self.quantity

    class Released(Aggregate.Event):
        class_version = 3
        order_id: str
        reason: str
        quantity: int | None  # None only when upcast from v2: the remembered units
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)
        upcast_v2_v3 = staticmethod(_quantity_from_the_reservation)

        def apply(self, aggregate: Stock) -> None:
            aggregate.reserved -= aggregate._settle(self.order_id, self.quantity)

    class Committed(Aggregate.Event):
        class_version = 3
        order_id: str
        quantity: int | None  # None only when upcast from v2: the remembered units
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)
        upcast_v2_v3 = staticmethod(_quantity_from_the_reservation)

        def apply(self, aggregate: Stock) -> None:
            units = aggregate._settle(self.order_id, self.quantity)
            aggregate.reserved -= units
            aggregate.on_hand -= units

    def __init__(self, sku: str, on_hand: int) -> None:
        self.sku = sku
        self.on_hand = on_hand
        self.reserved = 0  # units held by open orders, legacy ones included
        # Orders reserved by v2 events (stored before counts) that have not ended: their
        # v2 Released/Committed name no quantity. Only old events ever add to it.
        self.legacy_reservations: dict[str, int] = {}

    @staticmethod
    def id_for(sku: str) -> UUID:
        return stable_id("stock", sku)

    @classmethod
    def create(cls, sku: str, on_hand: int = 0, actor: str = actors.UNKNOWN) -> Stock:
        on_hand = validate_units(on_hand, sku)
        bounds.actor(actor)
        return cls._create(cls.Created, id=cls.id_for(sku), sku=sku, on_hand=on_hand, actor=actor)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def __deepcopy__(self, memo: dict[int, Any]) -> Stock:
        """An independent copy, as ``copy.deepcopy`` would make, at a tenth of its cost (the
        checkout writer copies every stock a batch touches, to put back if the batch fails):
        every other attribute is immutable, or shared with the original only by reference
        to immutable values (the ids, the timestamps, the events)."""
        clone = copy.copy(self)
        clone.legacy_reservations = dict(self.legacy_reservations)
        clone._pending_events = list(self._pending_events)
        memo[id(self)] = clone
        return clone

    def _settle(self, order_id: str, quantity: int | None) -> int:
        """The units an ending reservation frees (events only): its own quantity, or for a
        v2 event the remembered one. A legacy order ended by a v3 event is forgotten too."""
        remembered = self.legacy_reservations.pop(order_id, None)
        units = remembered if quantity is None else quantity
        if units is None:
            raise UnknownReservation(self.sku, order_id, "settle")
        return units

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

        Raises for caller errors (bad quantity), returns False only for shortage so that
        :func:`reserve_all` can collect every short sku first. A second reservation for
        the same order is the Order's to refuse (its first event collides in the same
        transaction); only an order remembered from v2 events is refused here.
        """
        _positive(quantity, self.sku)
        if str(order_id) in self.legacy_reservations:
            raise DuplicateReservation(self.sku, str(order_id))
        return quantity <= self.available

    def reserve(self, order_id: UUID | str, quantity: int, actor: str = actors.UNKNOWN) -> None:
        if not self.check_reservable(order_id, quantity):
            raise InsufficientStock([self.sku])
        bounds.actor(actor)
        self.trigger_event(self.Reserved, order_id=str(order_id), quantity=quantity, actor=actor)

    def release(
        self, order_id: UUID | str, quantity: int, reason: str, actor: str = actors.UNKNOWN
    ) -> None:
        """Give back the ``quantity`` units the order's line holds (its lines say how many)."""
        self._check_held(str(order_id), quantity, "release")
        bounds.actor(actor)
        self.trigger_event(
            self.Released, order_id=str(order_id), reason=reason, quantity=quantity, actor=actor
        )

    def commit(self, order_id: UUID | str, quantity: int, actor: str = actors.UNKNOWN) -> None:
        """Turn the order's reservation of ``quantity`` units into a sale."""
        self._check_held(str(order_id), quantity, "commit")
        bounds.actor(actor)
        self.trigger_event(self.Committed, order_id=str(order_id), quantity=quantity, actor=actor)

    def _check_held(self, order_id: str, quantity: int, action: str) -> None:
        """Refuse to end more than is held, or a remembered order by another quantity.

        Whether this order holds these units is the Order's to know; the counts can only
        keep 0 <= reserved <= on_hand.
        """
        _positive(quantity, self.sku)
        remembered = self.legacy_reservations.get(order_id)
        if remembered is not None and remembered != quantity:
            held = f"holding {remembered} units for order {order_id}, not {quantity}"
            raise UnknownReservation(self.sku, order_id, action, held)
        if quantity > self.reserved:
            held = f"holding {self.reserved} units in all, fewer than {quantity}"
            raise UnknownReservation(self.sku, order_id, action, held)


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
