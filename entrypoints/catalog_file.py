"""`checkout-engine catalog load FILE`: the JSON file format.

The file is a list of the products `POST /admin/products` takes (``api.schemas.ProductIn``:
field names, JSON types, no unknown fields), so the file and the API cannot drift apart.
Which values a product may take is the application's to say (``CatalogEntry.checked``,
with the domain's bounds), as for an upload; it is checked here, before anything is
loaded, so that a bad file names the item at fault.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from api.schemas import ProductIn
from application.catalog import CatalogEntry
from domain import DomainError, OutOfBounds


class CatalogFileError(ValueError):
    """The file can't be loaded; the message says where and why, on one line."""


_ITEMS = TypeAdapter(list[ProductIn])


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
