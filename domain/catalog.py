"""The product catalog: what can be sold, by whom, at what price."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import actors, bounds
from domain.errors import InvalidProduct
from domain.identity import stable_id
from domain.money import Currency, Money


def validate_product(name: str, vendor_id: str, unit_amount: int, currency: str) -> str:
    """Check a product's fields; return the normalised currency code."""
    if isinstance(name, str) and not name.strip():
        raise InvalidProduct("name must not be empty")
    if isinstance(vendor_id, str) and not vendor_id.strip():
        raise InvalidProduct("vendor id must not be empty")
    bounds.text(name, "name", bounds.MAX_NAME)
    bounds.text(vendor_id, "vendorId", bounds.MAX_VENDOR_ID)
    if type(unit_amount) is not int or unit_amount < 0:
        raise InvalidProduct(f"unit amount must be a non-negative int, got {unit_amount!r}")
    bounds.amount(unit_amount, "unitAmount")
    return Currency.of(currency).code


def validate_sku(sku: str) -> str:
    if isinstance(sku, str) and (not sku.strip() or sku != sku.strip()):
        raise InvalidProduct(f"sku must be non-empty without surrounding spaces: {sku!r}")
    return bounds.text(sku, "sku", bounds.MAX_SKU)


class Product(Aggregate):
    """A sellable item, one stream per sku.

    Version 2 of every event added the actor: ``admin:<sub>`` from the admin API,
    ``cli:<login>`` from ``catalog load`` (adr/0016); older events read ``unknown``.
    """

    class Registered(Aggregate.Created):
        class_version = 2
        sku: str
        name: str
        vendor_id: str
        unit_amount: int
        currency: str
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

    class Updated(Aggregate.Event):
        """Carries the full new values, so readers never need the previous event."""

        class_version = 2
        name: str
        vendor_id: str
        unit_amount: int
        currency: str
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Product) -> None:
            aggregate.name = self.name
            aggregate.vendor_id = self.vendor_id
            aggregate.unit_amount = self.unit_amount
            aggregate.currency = self.currency

    class Deactivated(Aggregate.Event):
        class_version = 2
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Product) -> None:
            aggregate.active = False

    class Reactivated(Aggregate.Event):
        class_version = 2
        actor: str = actors.UNKNOWN

        upcast_v1_v2 = staticmethod(actors.ACTOR_ONLY)

        def apply(self, aggregate: Product) -> None:
            aggregate.active = True

    def __init__(
        self, sku: str, name: str, vendor_id: str, unit_amount: int, currency: str
    ) -> None:
        self.sku = sku
        self.name = name
        self.vendor_id = vendor_id
        self.unit_amount = unit_amount
        self.currency = currency
        self.active = True

    @staticmethod
    def id_for(sku: str) -> UUID:
        return stable_id("product", sku)

    @classmethod
    def register(
        cls,
        sku: str,
        name: str,
        vendor_id: str,
        unit_amount: int,
        currency: str,
        actor: str = actors.UNKNOWN,
    ) -> Product:
        validate_sku(sku)
        code = validate_product(name, vendor_id, unit_amount, currency)
        bounds.actor(actor)
        return cls._create(
            cls.Registered,
            id=cls.id_for(sku),
            sku=sku,
            name=name,
            vendor_id=vendor_id,
            unit_amount=unit_amount,
            currency=code,
            actor=actor,
        )

    @property
    def price(self) -> Money:
        return Money.of(self.unit_amount, self.currency)

    def update(
        self,
        *,
        name: str | None = None,
        vendor_id: str | None = None,
        unit_amount: int | None = None,
        currency: str | None = None,
        actor: str = actors.UNKNOWN,
    ) -> bool:
        """Record changed fields; return False (recording nothing) when nothing changed.

        Catalog loads are upserts run repeatedly; a no-op must not grow the stream.
        """
        new = (
            self.name if name is None else name,
            self.vendor_id if vendor_id is None else vendor_id,
            self.unit_amount if unit_amount is None else unit_amount,
            self.currency if currency is None else currency,
        )
        code = validate_product(*new)
        bounds.actor(actor)
        if (new[0], new[1], new[2], code) == (
            self.name,
            self.vendor_id,
            self.unit_amount,
            self.currency,
        ):
            return False
        self.trigger_event(
            self.Updated,
            name=new[0],
            vendor_id=new[1],
            unit_amount=new[2],
            currency=code,
            actor=actor,
        )
        return True

    def deactivate(self, actor: str = actors.UNKNOWN) -> bool:
        """Stop selling; idempotent (False if already inactive) for the same upsert reason."""
        if not self.active:
            return False
        self.trigger_event(self.Deactivated, actor=bounds.actor(actor))
        return True

    def reactivate(self, actor: str = actors.UNKNOWN) -> bool:
        if self.active:
            return False
        self.trigger_event(self.Reactivated, actor=bounds.actor(actor))
        return True
