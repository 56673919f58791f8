"""Deterministic aggregate ids.

Ids derived from natural keys (sku, order id) let any process find "the" product, stock or
payment without a lookup table, and make concurrent creation of the same aggregate collide
on the event store's (id, version) constraint instead of producing duplicates.
"""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed forever: changing it would orphan every stored product, stock and payment stream.
CHECKOUT_NAMESPACE = UUID("ee9308a4-c941-4236-8311-f5464c07cdb8")


def stable_id(kind: str, key: str) -> UUID:
    """uuid5 of the project namespace and ``"{kind}:{key}"``."""
    return uuid5(CHECKOUT_NAMESPACE, f"{kind}:{key}")
