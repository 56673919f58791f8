"""The orjson transcoder reads every state to the value the library's transcoder reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.transcoder import FastJSONTranscoder


class Point:
    def __init__(self, x: Any, y: Any) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


class PointAsDict(Transcoding):
    """A transcoding whose data is an object itself holding tagged values."""

    type = Point
    name = "point"

    def encode(self, obj: Point) -> dict[str, Any]:
        return {"x": obj.x, "y": obj.y}

    def decode(self, data: dict[str, Any]) -> Point:
        return Point(data["x"], data["y"])


def transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    library, fast = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (library, fast):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), PointAsDict()):
            transcoder.register(transcoding)
    return library, fast


LIBRARY, FAST = transcoders()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),  # beyond 64 bits too
    st.floats(allow_nan=False),
    st.text(),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])),
)
keys = st.one_of(st.text(), st.sampled_from(["_type_", "_data_", "timestamp"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
        st.builds(Point, inner, inner),
    ),
    max_leaves=20,
)


def outcome(transcoder: JSONTranscoder, data: bytes) -> tuple[str, Any]:
    """What reading ``data`` gives: its value, or the kind of error (a state holding its
    own "_type_" keys can make the library fail: then this one must fail alike)."""
    try:
        return "value", transcoder.decode(data)
    except Exception as exc:
        return "error", type(exc)


@given(st.dictionaries(keys, values, max_size=6))
def test_every_encoded_state_reads_back_as_the_library_reads_it(state: dict[str, Any]) -> None:
    data = LIBRARY.encode(state)
    assert FAST.encode(state) == data  # writing is the library's, byte for byte
    assert outcome(FAST, data) == outcome(LIBRARY, data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": NaN, "b": Infinity}',  # the library writes these for float nan / inf
        b'{"big": 123456789012345678901234567890}',
        b'{"deep": [1, {"big": -123456789012345678901234567890}]}',
        b'{"f": [1.5, {"g": 2.25e-3}]}',
        b"1.5",
        b'{"_type_": "uuid_hex", "_data_": "8d6cdb3b0d1d4b7c9f0e1d2c3b4a5968"}',
        b'[{"_type_": "decimal_str", "_data_": "1.10"}, [{"_data_": "x", "_type_": "uuid_hex"'
        b', "more": 1}]]',
        b'{"_data_": "x", "other": {"_type_": "datetime_iso", '
        b'"_data_": "2026-12-03T10:00:00+00:00"}}',
        b'{"p": {"_type_": "point", "_data_": {"x": {"_type_": "uuid_hex", "_data_": '
        b'"8d6cdb3b0d1d4b7c9f0e1d2c3b4a5968"}, "y": 2}}}',
        b'{"dup": 1, "dup": 2}',
        b'"just a string"',
        b"12",
    ],
)
def test_edge_cases_read_as_the_library_reads_them(data: bytes) -> None:
    assert outcome(FAST, data) == outcome(LIBRARY, data)
    assert outcome(LIBRARY, data)[0] == "value"


def test_an_unknown_tag_fails_as_in_the_library() -> None:
    data = b'{"v": {"_type_": "nobody", "_data_": "x"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        LIBRARY.decode(data)
    with pytest.raises(TranscodingNotRegisteredError):
        FAST.decode(data)


def test_a_replaced_transcoding_is_the_one_used() -> None:
    class UUIDUpper(UUIDAsHex):
        def decode(self, data: str) -> UUID:
            return UUID(data.upper().replace("8D", "00", 1))

    fast = FastJSONTranscoder()
    fast.register(UUIDAsHex())
    fast.register(UUIDUpper())
    value = fast.decode(b'{"_type_": "uuid_hex", "_data_": "8d6cdb3b0d1d4b7c9f0e1d2c3b4a5968"}')
    assert value == UUID("006cdb3b0d1d4b7c9f0e1d2c3b4a5968")


def test_malformed_json_is_refused_as_by_the_library() -> None:
    with pytest.raises(json.JSONDecodeError):
        FAST.decode(b'{"a": ')


def test_the_values_come_back_typed() -> None:
    when = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    state = {"at": when, "id": UUID(int=7), "amount": Decimal("10.50"), "lines": [{"at": when}]}
    assert FAST.decode(LIBRARY.encode(state)) == state
