"""The audit chain's link encoding, anchors' signatures and the anchoring policy (adr/0015)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from infrastructure.audit.anchors import (
    Anchor,
    AnchorFile,
    Anchoring,
    AnchorPolicy,
    ChainHead,
    MalformedAnchor,
    new_anchor,
    read_anchor_lines,
)
from infrastructure.audit.chain import GENESIS, chain_link

ORIGINATOR = UUID("12345678-1234-5678-1234-567812345678")
KEY = b"k" * 32


def stored(state: bytes = b'{"a":1}', topic: str = "domain.order:Order.Placed") -> StoredEvent:
    return StoredEvent(originator_id=ORIGINATOR, originator_version=3, topic=topic, state=state)


def test_genesis_is_the_hash_of_the_fixed_label_documented_in_the_adr() -> None:
    assert hashlib.sha256(b"checkout-engine audit chain v1").digest() == GENESIS
    adr = Path(__file__).resolve().parents[3] / "adr" / "0015-audit-trail-and-hash-chain.md"
    assert GENESIS.hex() in adr.read_text(encoding="utf-8")


def test_the_link_is_sha256_over_the_documented_bytes() -> None:
    event = stored()
    originator = str(ORIGINATOR).encode()
    topic = event.topic.encode()
    expected = hashlib.sha256(
        GENESIS
        + struct.pack(">Q", 42)
        + struct.pack(">I", len(originator))
        + originator
        + struct.pack(">Q", 3)
        + struct.pack(">I", len(topic))
        + topic
        + struct.pack(">I", len(event.state))
        + event.state
    ).digest()

    assert chain_link(GENESIS, 42, event) == expected
    assert len(expected) == 32


def test_a_known_vector_pins_the_encoding() -> None:
    # Any change to the encoding breaks every stored chain: this value must never change.
    assert chain_link(GENESIS, 1, stored()).hex() == (
        hashlib.sha256(
            bytes.fromhex(GENESIS.hex())
            + bytes.fromhex("0000000000000001")
            + bytes.fromhex("00000024")
            + b"12345678-1234-5678-1234-567812345678"
            + bytes.fromhex("0000000000000003")
            + bytes.fromhex("00000019")
            + b"domain.order:Order.Placed"
            + bytes.fromhex("00000007")
            + b'{"a":1}'
        ).hexdigest()
    )


def test_moving_bytes_between_fields_changes_the_link() -> None:
    # Without length prefixes, topic "ab" + state "c" and topic "a" + state "bc" collide.
    one = chain_link(GENESIS, 1, stored(state=b"c", topic="ab"))
    other = chain_link(GENESIS, 1, stored(state=b"bc", topic="a"))
    assert one != other


@pytest.mark.parametrize(
    "change",
    [
        lambda: chain_link(GENESIS, 2, stored()),
        lambda: chain_link(b"\x00" * 32, 1, stored()),
        lambda: chain_link(GENESIS, 1, stored(state=b'{"a":2}')),
        lambda: chain_link(GENESIS, 1, stored(topic="domain.order:Order.Confirmed")),
        lambda: chain_link(
            GENESIS,
            1,
            StoredEvent(originator_id=ORIGINATOR, originator_version=4, topic="t", state=b""),
        ),
    ],
)
def test_every_field_and_the_previous_link_are_covered(change: object) -> None:
    assert callable(change)
    assert change() != chain_link(GENESIS, 1, stored())


def test_the_originator_id_is_hashed_in_its_canonical_text() -> None:
    as_text = StoredEvent(
        originator_id=str(ORIGINATOR), originator_version=3, topic=stored().topic, state=b'{"a":1}'
    )
    assert chain_link(GENESIS, 1, as_text) == chain_link(GENESIS, 1, stored())


def test_a_signed_anchor_round_trips_and_its_signature_holds() -> None:
    anchor = new_anchor(ChainHead(7, "ab" * 32), KEY)
    again = Anchor.from_json(anchor.to_json())

    assert again == anchor
    assert again.signature_holds(KEY)
    assert not again.signature_holds(b"x" * 32)


@pytest.mark.parametrize("field", ["notification_id", "link", "anchored_at"])
def test_editing_any_signed_field_breaks_the_signature(field: str) -> None:
    anchor = new_anchor(ChainHead(7, "ab" * 32), KEY)
    edited = {
        "notification_id": Anchor(8, anchor.link, anchor.anchored_at, anchor.signature),
        "link": Anchor(7, "cd" * 32, anchor.anchored_at, anchor.signature),
        "anchored_at": Anchor(7, anchor.link, "2020-01-01T00:00:00Z", anchor.signature),
    }[field]
    assert not edited.signature_holds(KEY)


def test_an_unsigned_anchor_does_not_hold_under_a_key() -> None:
    anchor = new_anchor(ChainHead(7, "ab" * 32), None)
    assert anchor.signature is None
    assert "hmacSha256" not in anchor.to_json()
    assert not anchor.signature_holds(KEY)


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[]",
        '{"notificationId": 0, "link": "' + "a" * 64 + '", "anchoredAt": "t"}',
        '{"notificationId": 1, "link": "short", "anchoredAt": "t"}',
        '{"notificationId": true, "link": "' + "a" * 64 + '", "anchoredAt": "t"}',
    ],
)
def test_a_line_that_is_no_anchor_is_refused(line: str) -> None:
    with pytest.raises(MalformedAnchor):
        Anchor.from_json(line)
    anchors, problems = read_anchor_lines(["", line])
    assert anchors == []
    assert problems[0].startswith("line 2: ")


def test_the_anchor_file_appends_and_knows_its_last_anchor(tmp_path: Path) -> None:
    file = AnchorFile(tmp_path / "audit" / "anchors.jsonl")
    assert file.last() is None
    first, second = (
        new_anchor(ChainHead(1, "a" * 64), None),
        new_anchor(ChainHead(2, "b" * 64), KEY),
    )
    file.publish(first)
    file.publish(second)

    assert file.last() == second
    assert read_anchor_lines(file.path.read_text().splitlines()) == ([first, second], [])


class Recorded:
    def __init__(self, fail: bool = False) -> None:
        self.anchors: list[Anchor] = []
        self.fail = fail

    def publish(self, anchor: Anchor) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.anchors.append(anchor)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_anchor_every_n_events_or_m_seconds_and_only_when_the_head_moved() -> None:
    sink, clock = Recorded(), Ticks()
    anchoring = Anchoring([sink], AnchorPolicy(every_events=10, every_seconds=60), clock=clock)

    assert anchoring.anchor_if_due(ChainHead(9, "a" * 64)) is None  # 9 events, 0 s
    assert anchoring.anchor_if_due(ChainHead(10, "b" * 64)) is not None  # 10 events
    clock.now = 59
    assert anchoring.anchor_if_due(ChainHead(11, "c" * 64)) is None
    clock.now = 61
    assert anchoring.anchor_if_due(ChainHead(11, "c" * 64)) is not None  # 60 s
    clock.now = 200
    assert anchoring.anchor_if_due(ChainHead(11, "c" * 64)) is None  # the head did not move
    assert [a.notification_id for a in sink.anchors] == [10, 11]


def test_a_failing_sink_is_retried_later_and_the_others_still_get_the_anchor() -> None:
    good, bad, clock = Recorded(), Recorded(fail=True), Ticks()
    anchoring = Anchoring(
        [good, bad], AnchorPolicy(every_events=1, every_seconds=60), clock=clock, retry_seconds=5
    )

    assert anchoring.anchor_if_due(ChainHead(1, "a" * 64)) is None
    assert anchoring.anchor_if_due(ChainHead(2, "a" * 64)) is None  # waits for the retry
    bad.fail = False
    clock.now = 6
    assert anchoring.anchor_if_due(ChainHead(2, "b" * 64)) is not None
    assert [a.notification_id for a in good.anchors] == [1, 2]
    assert [a.notification_id for a in bad.anchors] == [2]


def test_anchors_are_signed_with_the_key() -> None:
    sink = Recorded()
    Anchoring([sink], AnchorPolicy(1, 60), KEY).anchor_if_due(ChainHead(1, "a" * 64))
    assert sink.anchors[0].signature_holds(KEY)
