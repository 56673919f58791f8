"""The admin listing's cursor is opaque, url-safe and refuses anything it did not make."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from projections.queries import InvalidCursor, decode_cursor, encode_cursor


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    moment = datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC)
    order_id = uuid4()
    cursor = encode_cursor(moment, order_id)

    assert decode_cursor(cursor) == (moment, order_id)
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), UUID(int=7))[:-3],
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ",  # ["2026-01-01T00:00:00", "x"]
        "eyJhIjogMSwgImIiOiAyfQ",  # {"a": 1, "b": 2}
        "WzEsIDJd",  # [1, 2]
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
