"""Anchors: the chain head published outside the database (adr/0015).

An anchor says "up to notification N the chain's link was L, at time T". Once it has left
the database, in the append-only file ``$CHECKOUT_DATA_DIR/audit/anchors.jsonl`` and on
the Kafka topic ``audit.anchors``, someone who can rewrite the events and the chain table
can no longer make the recomputed chain agree with it. With ``CHECKOUT_AUDIT_KEY`` set,
each anchor carries an HMAC-SHA256 over its fields, so an anchor can't be forged or
edited to match a rewritten log without that key either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

ANCHOR_TOPIC = "audit.anchors"
ANCHOR_KEY = b"audit_chain"  # one chain per database: one key keeps anchors in order
SIGNATURE_LABEL = b"checkout-engine audit anchor v1\n"


@dataclass(frozen=True)
class ChainHead:
    """The last chained event and its link (64 hex digits)."""

    notification_id: int
    link: str


class MalformedAnchor(ValueError):
    """A line or record that is not an anchor."""


@dataclass(frozen=True)
class Anchor:
    notification_id: int
    link: str
    anchored_at: str  # RFC 3339, UTC, as signed
    signature: str | None = None  # hex HMAC-SHA256 of `signed_bytes`, when a key is set

    def signed_bytes(self) -> bytes:
        """What the HMAC covers: a label, then id, link and time, one per line."""
        fields = f"{self.notification_id}\n{self.link}\n{self.anchored_at}"
        return SIGNATURE_LABEL + fields.encode()

    def signed(self, key: bytes | None) -> Anchor:
        if key is None:
            return self
        return replace(self, signature=hmac.new(key, self.signed_bytes(), "sha256").hexdigest())

    def signature_holds(self, key: bytes) -> bool:
        if self.signature is None:
            return False
        expected = hmac.new(key, self.signed_bytes(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def to_json(self) -> str:
        record: dict[str, Any] = {
            "notificationId": self.notification_id,
            "link": self.link,
            "anchoredAt": self.anchored_at,
        }
        if self.signature is not None:
            record["hmacSha256"] = self.signature
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Anchor:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MalformedAnchor(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedAnchor("not a JSON object")
        number, link, at = data.get("notificationId"), data.get("link"), data.get("anchoredAt")
        signature = data.get("hmacSha256")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise MalformedAnchor("notificationId must be a positive integer")
        if not isinstance(link, str) or len(link) != 64:
            raise MalformedAnchor("link must be 64 hex digits")
        if not isinstance(at, str) or (signature is not None and not isinstance(signature, str)):
            raise MalformedAnchor("anchoredAt and hmacSha256 must be strings")
        return cls(number, link, at, signature)


def new_anchor(head: ChainHead, key: bytes | None, now: datetime | None = None) -> Anchor:
    at = (now or datetime.now(UTC)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return Anchor(head.notification_id, head.link, at).signed(key)


class AnchorSink(Protocol):
    def publish(self, anchor: Anchor) -> None: ...


class AnchorFile:
    """The append-only JSON Lines file; each anchor is on disk (fsync) before it counts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, anchor: Anchor) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(anchor.to_json() + "\n")
            file.flush()
            os.fsync(file.fileno())

    def last(self) -> Anchor | None:
        """The newest anchor in the file, or None (also for a torn last line)."""
        if not self.path.exists():
            return None
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for line in reversed(lines):
            if line.strip():
                try:
                    return Anchor.from_json(line)
                except MalformedAnchor:
                    return None
        return None


def read_anchor_lines(lines: Iterable[str]) -> tuple[list[Anchor], list[str]]:
    """The anchors of a file's lines, and a reason for each line that is not one."""
    anchors: list[Anchor] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            anchors.append(Anchor.from_json(line))
        except MalformedAnchor as exc:
            problems.append(f"line {number}: {exc}")
    return anchors, problems


class KafkaAnchors:
    """The topic ``audit.anchors``: one partition, an idempotent producer, acks=all."""

    def __init__(
        self, config: Mapping[str, Any], topic: str = ANCHOR_TOPIC, timeout: float = 10.0
    ) -> None:
        self.config = dict(config)
        self.topic = topic
        self.timeout = timeout
        self._topic_ready = False

    def publish(self, anchor: Anchor) -> None:
        from confluent_kafka import KafkaError, Producer

        from infrastructure.relay.publisher import DeliveryFailed, ensure_topics, producer_settings

        if not self._topic_ready:
            # One partition: anchors are read back in the order they were made.
            ensure_topics(self.config, [self.topic], 1, 1, self.timeout)
            self._topic_ready = True
        errors: list[str] = []

        def report(error: KafkaError | None, _record: object) -> None:
            if error is not None:
                errors.append(error.str())

        producer = Producer(producer_settings(self.config))
        try:
            producer.produce(
                self.topic, key=ANCHOR_KEY, value=anchor.to_json().encode(), on_delivery=report
            )
            remaining = producer.flush(self.timeout)
        finally:
            producer.close()
        if errors or remaining:
            self._topic_ready = False
            raise DeliveryFailed(errors[0] if errors else "anchor not acknowledged")


def read_kafka_anchors(
    config: Mapping[str, Any], topic: str = ANCHOR_TOPIC, timeout: float = 10.0
) -> list[Anchor | str]:
    """Every record of ``topic`` from the beginning: an Anchor, or why it is not one."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    from infrastructure.relay.publisher import admin_settings

    consumer = Consumer(
        {
            **admin_settings(config),
            # assign(), not subscribe(): no group join; the id is only required by the client.
            "group.id": f"checkout-audit-verify-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        # All topics, not this one by name: a broker that auto-creates topics on a
        # metadata request for a name would create it.
        metadata = consumer.list_topics(timeout=timeout)
        if topic not in metadata.topics:
            return []
        partitions = sorted(metadata.topics[topic].partitions)
        ends = {}
        for partition in partitions:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
            if high > 0:
                ends[partition] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        found: list[Anchor | str] = []
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                raise KafkaException(message.error())
            value = message.value() or b""
            try:
                found.append(Anchor.from_json(value))
            except MalformedAnchor as exc:
                found.append(f"{topic} offset {message.offset()}: {exc}")
            offset = message.offset() or 0
            if offset + 1 >= ends.get(message.partition() or 0, 0):
                ends.pop(message.partition() or 0, None)
        if ends:
            raise TimeoutError(f"{topic}: not read to its end within {timeout:.0f} s")
        return found
    finally:
        consumer.close()


@dataclass(frozen=True)
class AnchorPolicy:
    every_events: int = 1000
    every_seconds: float = 60.0


class Anchoring:
    """Publishes the chain head every N events or M seconds, whichever comes first.

    An anchor is made only when the head moved since the last one. A sink that fails is
    logged and the anchor made again at the next chance; chaining never waits for it.
    """

    def __init__(
        self,
        sinks: Sequence[AnchorSink],
        policy: AnchorPolicy,
        key: bytes | None = None,
        *,
        last_anchored: int = 0,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = 5.0,
    ) -> None:
        self.sinks = list(sinks)
        self.policy = policy
        self.key = key
        self.last_anchored = last_anchored
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._last_at = clock()
        self._failed_at: float | None = None
        self.published = 0

    def due(self, head: ChainHead) -> bool:
        if head.notification_id <= self.last_anchored:
            return False
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < self._retry_seconds:
            return False
        unanchored = head.notification_id - self.last_anchored
        return (
            unanchored >= self.policy.every_events
            or now - self._last_at >= self.policy.every_seconds
        )

    def anchor_if_due(self, head: ChainHead) -> Anchor | None:
        if not self.due(head):
            return None
        anchor = new_anchor(head, self.key)
        failed = False
        for sink in self.sinks:
            try:
                sink.publish(anchor)
            except Exception as exc:  # an outage of one sink must not stop the chain
                failed = True
                log.warning("audit anchor not published", sink=type(sink).__name__, error=str(exc))
        now = self._clock()
        if failed:
            self._failed_at = now
            return None
        self._failed_at = None
        self._last_at = now
        self.last_anchored = head.notification_id
        self.published += 1
        log.info("audit anchor published", notification_id=anchor.notification_id)
        return anchor
