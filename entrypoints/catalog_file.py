"""`checkout-engine catalog load FILE`: the JSON file format and its validation."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from application.catalog import CatalogEntry


class CatalogFileError(ValueError):
    """The file can't be loaded; the message says where and why, on one line."""


class CatalogItem(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    vendor_id: str = Field(alias="vendorId", min_length=1, max_length=64)
    unit_amount: StrictInt = Field(alias="unitAmount", ge=0)
    currency: str = Field(min_length=3, max_length=3)
    stock: StrictInt = Field(ge=0)
    active: StrictBool = True

    def entry(self) -> CatalogEntry:
        return CatalogEntry(
            sku=self.sku,
            name=self.name,
            vendor_id=self.vendor_id,
            unit_amount=self.unit_amount,
            currency=self.currency.upper(),
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
    return [item.entry() for item in items]


def read_catalog(path: Path) -> list[CatalogEntry]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogFileError(f"{path}: {exc.strerror}") from None
    return parse_catalog(raw)
