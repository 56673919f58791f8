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

from confluent_kafka import Consumer, KafkaError, TopicPartition
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
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "logger": _quiet})
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
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
            continue
        at_end.discard(message.partition())
        records.append(
            Record(
                topic=topic,
                partition=message.partition(),
                offset=message.offset(),
                key=message.key(),
                value=message.value(),
                headers=dict(message.headers() or []),
                timestamp_ms=message.timestamp()[1],
            )
        )
    return sorted(records, key=lambda r: (r.partition, r.offset))


@cache
def _validator(ce_type: str) -> Draft202012Validator:
    # checkout.order.confirmed.v1 -> schemas/orders.confirmed.v1.json
    _, _, event, version = ce_type.split(".")
    schema = json.loads((SCHEMAS / f"orders.{event}.{version}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_schema_valid(record: Record) -> None:
    _validator(record.headers["ce_type"].decode()).validate(record.body)
