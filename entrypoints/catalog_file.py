"""`checkout-engine catalog load FILE`: the JSON file format.

The model below says only what shape the file has (field names, JSON types, no unknown
fields). Which values a product may take is the application's to say
(``CatalogEntry.checked``, with the domain's bounds), as for an upload through the API, so
the file and the API cannot drift apart; it is checked here, before anything is loaded, so
that a bad file names the item at fault.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from application.catalog import CatalogEntry
from domain import DomainError, OutOfBounds


class CatalogFileError(ValueError):
    """The file can't be loaded; the message says where and why, on one line."""


class CatalogItem(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sku: str
    name: str
    vendor_id: str = Field(alias="vendorId")
    # A negative number is a malformed file, said in the file's own terms (``0/stock:``).
    unit_amount: StrictInt = Field(alias="unitAmount", ge=0)
    currency: str
    stock: StrictInt = Field(ge=0)
    active: StrictBool = True

    def entry(self) -> CatalogEntry:
        return CatalogEntry(
            sku=self.sku,
            name=self.name,
            vendor_id=self.vendor_id,
            unit_amount=self.unit_amount,
            currency=self.currency,
            stock=self.stock,
            active=self.active,
        )


_ITEMS = TypeAdapter(list[CatalogItem])


def parse_catalog(raw: str) -> list[CatalogEntry]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"not valid JSON: {exc}") from None
    try:
        items = _ITEMS.validate_python(data)
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        where = "/".join(str(part) for part in error["loc"]) or "top level"
        raise CatalogFileError(f"{where}: {error['msg']}") from None
    return [_checked(index, item.entry()) for index, item in enumerate(items)]


def _checked(index: int, entry: CatalogEntry) -> CatalogEntry:
    try:
        return entry.checked()
    except OutOfBounds as exc:
        raise CatalogFileError(f"{index}/{exc.field}: {exc.requirement}") from None
    except DomainError as exc:
        raise CatalogFileError(f"{index}: {exc}") from None


def read_catalog(path: Path) -> list[CatalogEntry]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogFileError(f"{path}: {exc.strerror}") from None
    return parse_catalog(raw)
