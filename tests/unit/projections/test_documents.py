"""Values inside the views' documents take the CONTRACT's shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from projections.documents import contract_lines, rfc3339


def test_times_are_rfc3339_in_utc() -> None:
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert rfc3339(moment) == "2026-01-01T06:30:00Z"
    precise = datetime(2026, 1, 1, 6, 30, 0, 1500, tzinfo=UTC)
    assert rfc3339(precise) == "2026-01-01T06:30:00.001500Z"
    assert rfc3339(None) is None


def test_order_lines_are_camel_case() -> None:
    recorded = [{"sku": "SKU-A", "quantity": 2, "unit_amount": 1500, "vendor_id": "vendor-a"}]
    assert contract_lines(recorded) == [
        {"sku": "SKU-A", "quantity": 2, "unitAmount": 1500, "vendorId": "vendor-a"}
    ]
