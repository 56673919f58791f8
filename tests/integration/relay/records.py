"""Reads whole topics back from the broker, and checks records against the JSON Schemas.

Partitions are assigned explicitly and read until each reports its end: no consumer
group (slow on Tansu), and "nothing more arrived" is a fact, not a timeout.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
_quiet = logging.getLogger("tests.relay.kafka")


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: dict[str, bytes]
    timestamp_ms: int

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.value)
        return body

    @property
    def ce_id(self) -> str:
        return self.headers["ce_id"].decode()

    @property
    def ce_time(self) -> str:
        return self.headers["ce_time"].decode()


def _partitions(bootstrap_servers: str, topic: str) -> list[int]:
    # Listing all topics never auto-creates one (asking for a topic by name does, on Tansu).
    # confluent_kafka's stub types the config as str/int/float/bool values, but librdkafka's
    # Python client takes a logging.Logger for "logger" (documented, and what the relay passes).
    admin = AdminClient(
        {"bootstrap.servers": bootstrap_servers, "logger": _quiet}  # type: ignore[dict-item]
    )
    metadata = admin.list_topics(timeout=10)
    found = metadata.topics.get(topic)
    return sorted(found.partitions) if found is not None else []


def read_topic(bootstrap_servers: str, topic: str, timeout: float = 15.0) -> list[Record]:
    """Every record on `topic`, by partition then offset; [] if the topic doesn't exist."""
    partitions = _partitions(bootstrap_servers, topic)
    if not partitions:
        return []
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"relay-tests-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # The end of a partition as the fetch saw it: Tansu's ListOffsets (watermarks)
            # reports the last batch's base offset + 1, not the log end.
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
            "logger": _quiet,
        }
    )
    try:
        # Offset 0 (reset to earliest if out of range) spares an offset lookup round.
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        return _read_to_end(consumer, topic, set(partitions), timeout)
    finally:
        consumer.close()


def _read_to_end(
    consumer: Consumer, topic: str, partitions: set[int], timeout: float
) -> list[Record]:
    records: list[Record] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    while at_end != partitions:
        assert time.monotonic() < deadline, f"{topic}: only {at_end} of {partitions} read"
        message = consumer.poll(0.2)
        if message is None:
            continue
        partition = message.partition()
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                assert partition is not None, f"{topic}: end of no partition"
                at_end.add(partition)
            continue
        assert partition is not None, f"{topic}: a record from no partition"
        at_end.discard(partition)
        records.append(_record(topic, partition, message))
    return sorted(records, key=lambda r: (r.partition, r.offset))


def _record(topic: str, partition: int, message: Message) -> Record:
    """A fetched record; the relay always writes a key, a value and bytes headers."""
    offset, key, value = message.offset(), message.key(), message.value()
    assert offset is not None, f"{topic}[{partition}]: a record without an offset"
    assert key is not None, f"{topic}[{partition}]@{offset}: a record without a key"
    assert value is not None, f"{topic}[{partition}]@{offset}: a record without a value"
    raw = message.headers() or []
    headers: dict[str, bytes] = {}
    for name, header in raw.items() if isinstance(raw, dict) else raw:
        assert isinstance(header, bytes), f"{topic}[{partition}]@{offset}: header {name}={header!r}"
        headers[name] = header
    return Record(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        headers=headers,
        timestamp_ms=message.timestamp()[1],
    )


@cache
def _validator(ce_type: str) -> Draft202012Validator:
    # checkout.order.confirmed.v1 -> schemas/orders.confirmed.v1.json
    _, _, event, version = ce_type.split(".")
    schema = json.loads((SCHEMAS / f"orders.{event}.{version}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_schema_valid(record: Record) -> None:
    _validator(record.headers["ce_type"].decode()).validate(record.body)
