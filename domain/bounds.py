"""The bounds every accepted value stays within, so that no recorded event is one a view
cannot store (PostgreSQL bigint, text without NUL) or a provider cannot charge.

The API schema states the same bounds (api/schemas.py), so clients learn them from
/openapi.json; the domain enforces them, so no path (HTTP, catalog file, a script) can
record a value outside them. These constants are the only place the limits are written:
the catalog file is checked with the domain's own rules before it is loaded
(``application.catalog.CatalogEntry.checked``).
"""

from __future__ import annotations

import re

from domain.errors import OutOfBounds

# Stripe's largest charge (99,999,999 minor units: 999,999.99 USD); Razorpay's is lower
# per account. A price, a line and an order total each stay within it.
MAX_TOTAL = 99_999_999
MAX_STOCK = 1_000_000_000
MAX_LINE_QUANTITY = 1000
MAX_LINES = 100
MAX_SKU = 64
MAX_NAME = 200
MAX_VENDOR_ID = 64
MAX_CUSTOMER_ID = 200
MAX_REASON = 500
# An actor (domain/actors.py): "provider:stripe:" and a 255-character event id fit.
MAX_ACTOR = 300
ACTOR_KINDS = frozenset({"customer", "admin", "cli", "system", "provider", "worker", "unknown"})
BARE_ACTORS = frozenset({"system", "worker", "unknown"})

# C0 and C1 control characters (NUL included) and DEL: never part of a name or a reason.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"


def text(value: object, field: str, limit: int, *, allow_empty: bool = False) -> str:
    """A one-line text of at most ``limit`` characters, with no control characters."""
    if not isinstance(value, str):
        raise OutOfBounds(field, "must be text")
    if not allow_empty and not value.strip():
        raise OutOfBounds(field, "must not be empty")
    if len(value) > limit:
        raise OutOfBounds(field, f"must be at most {limit} characters")
    if _CONTROL.search(value):
        raise OutOfBounds(field, "must not contain control characters")
    return value


def actor(value: object, field: str = "actor") -> str:
    """Who did it, as events keep it: ``kind:detail`` of a known kind, or a bare
    ``system``, ``worker`` or ``unknown``; one line of at most ``MAX_ACTOR`` characters."""
    checked = text(value, field, MAX_ACTOR)
    kind, colon, detail = checked.partition(":")
    if kind not in ACTOR_KINDS or (colon and not detail.strip()):
        raise OutOfBounds(
            field, "must be <kind>:<who> of a known kind (customer, admin, cli, system, provider)"
        )
    if not colon and checked not in BARE_ACTORS:
        raise OutOfBounds(field, "must name its kind and who, like customer:<id>")
    return checked


def storable(value: str, limit: int) -> str:
    """Text the engine did not choose (a provider's message, an exception) made storable:
    NUL removed (PostgreSQL text cannot hold it) and cut to ``limit`` characters. For text a
    person sends use ``text``, which refuses instead."""
    return value.replace("\x00", "")[:limit]


def amount(value: object, field: str, low: int = 0, high: int = MAX_TOTAL) -> int:
    if type(value) is not int or not low <= value <= high:
        raise OutOfBounds(field, f"must be an integer from {low} to {high}")
    return value


def total(value: int, what: str) -> int:
    """A line or order total: named by the cart (``items``), the field a client can fix."""
    if value > MAX_TOTAL:
        raise OutOfBounds("items", f"{what} must be at most {MAX_TOTAL} minor units")
    return value
