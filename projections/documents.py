"""How views write values in the CONTRACT's shapes: the JSON they keep inside their rows
(order lines, refunds, disputes) and the documents the queries build from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, overload


@overload
def rfc3339(moment: datetime, timespec: str = ...) -> str: ...
@overload
def rfc3339(moment: None, timespec: str = ...) -> None: ...
def rfc3339(moment: datetime | None, timespec: str = "auto") -> str | None:
    """A timestamp as the CONTRACT shows it: UTC, with a Z (None stays None).

    ``timespec`` as ``datetime.isoformat`` takes it: the Kafka records always carry six
    fractional digits ("microseconds"); the HTTP documents drop zero microseconds.
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def contract_lines(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Order lines as recorded on ``Order.Created`` (snake_case), as the CONTRACT shows them."""
    return [
        {
            "sku": line["sku"],
            "quantity": line["quantity"],
            "unitAmount": line["unit_amount"],
            "vendorId": line["vendor_id"],
        }
        for line in lines
    ]
