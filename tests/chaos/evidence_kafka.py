"""The confirmed topic as evidence: read from the beginning of every partition to its end,
with partitions assigned by hand (no consumer group, nothing committed), then held against
the log's confirmations (CONTRACT.md, Kafka)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from domain import Order
from infrastructure.relay.messages import CE_SOURCE, CONTENT_TYPE, cloud_event_id, rfc3339
from projections import documents
from tests.chaos.evidence_log import LogFacts
from tests.chaos.evidence_model import Findings

CONFIRMED_TYPE = "checkout.order.confirmed.v1"
READ_TIMEOUT = 60.0
_quiet = logging.getLogger("tests.chaos.kafka")


class TopicUnreadable(RuntimeError):
    pass


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def header(self, name: str) -> str | None:
        raw = self.headers.get(name)
        return None if raw is None else raw.decode(errors="replace")

    @property
    def where(self) -> str:
        return f"[{self.partition}]@{self.offset}"


def read_topic(bootstrap_servers: str, topic: str, timeout: float = READ_TIMEOUT) -> list[Record]:
    """Every record on ``topic``; [] when the topic does not exist (listing never creates it)."""
    config: Any = {"bootstrap.servers": bootstrap_servers, "logger": _quiet}
    found = AdminClient(config).list_topics(timeout=15).topics.get(topic)
    if found is None:
        return []
    partitions = sorted(found.partitions)
    consumer = Consumer(
        {
            # Required by the client; nothing is committed under it, nothing joins it.
            "group.id": f"chaos-checker-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
            **config,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        high = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in partitions
        }
        return _read_to_end(consumer, set(partitions), high, timeout)
    finally:
        consumer.close()


def _read_to_end(
    consumer: Consumer, partitions: set[int], high: dict[int, int], timeout: float
) -> list[Record]:
    """Until each partition reported its end, past its high watermark (some brokers' watermark
    lags the log end, so the end of the fetch is what counts, and the watermark a floor)."""
    records: list[Record] = []
    last: dict[int, int] = defaultdict(lambda: -1)
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    while at_end != partitions:
        if time.monotonic() > deadline:
            raise TopicUnreadable(f"only partitions {sorted(at_end)} of {sorted(partitions)} read")
        message = consumer.poll(0.2)
        if message is None:
            continue
        partition = message.partition()
        error = message.error()
        if partition is None:
            continue
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                raise TopicUnreadable(str(error))
            if last[partition] + 1 >= high[partition]:
                at_end.add(partition)
            continue
        at_end.discard(partition)
        offset = message.offset() or 0
        last[partition] = offset
        raw = message.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = {name: value for name, value in pairs if isinstance(value, bytes)}
        records.append(Record(partition, offset, message.key(), message.value(), headers))
    return sorted(records, key=lambda r: (r.partition, r.offset))


def check_confirmed_topic(facts: LogFacts, records: list[Record], findings: Findings) -> None:
    findings.count("records", len(records))
    versions = {
        cloud_event_id(e.originator_id, e.originator_version): (
            e.originator_id,
            e.originator_version,
        )
        for e in (logged.event for logged in facts.of_type(Order.Event))
    }
    per_order: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        order_id = _order_of(record)
        if order_id is None:
            findings.add("kafka.envelope", record.where, "a record naming no order")
            continue
        per_order[order_id].append(record)
    confirmed = {str(order_id): logged for order_id, logged in facts.confirmations.items()}
    for order_id in confirmed.keys() - per_order.keys():
        findings.add("kafka.lost", order_id, "confirmed in the log, never on the topic")
    for order_id, found in per_order.items():
        if order_id not in confirmed:
            findings.add("kafka.phantom", order_id, f"{len(found)} record(s), not confirmed")
            continue
        _check_order(facts, order_id, found, versions, findings)


def _order_of(record: Record) -> str | None:
    if record.key is not None:
        return record.key.decode(errors="replace")
    return record.header("ce_subject")


def _check_order(
    facts: LogFacts,
    order_id: str,
    records: list[Record],
    versions: dict[str, tuple[Any, int]],
    findings: Findings,
) -> None:
    logged = facts.confirmations[uuid.UUID(order_id)]
    event: Any = logged.event
    wanted = cloud_event_id(event.originator_id, event.originator_version)
    ce_ids = {record.header("ce_id") for record in records}
    if ce_ids != {wanted}:
        findings.add("kafka.ce_id", order_id, f"ce_ids {sorted(map(str, ce_ids))}, not {wanted}")
    if len({record.value for record in records}) > 1:
        findings.add("kafka.duplicate_mismatch", order_id, "redeliveries differ in their value")
    if len({record.partition for record in records}) > 1:
        findings.add("kafka.order", order_id, "records on more than one partition")
    seen = [versions.get(record.header("ce_id") or "", (None, 0))[1] for record in records]
    if seen != sorted(seen):
        findings.add("kafka.order", order_id, f"event versions in offset order: {seen}")
    for record in records:
        problem = _envelope_problem(record, order_id) or _payload_problem(facts, record, event)
        if problem:
            kind, detail = problem
            findings.add(kind, order_id, f"{record.where}: {detail}")


def _envelope_problem(record: Record, order_id: str) -> tuple[str, str] | None:
    wanted = {
        "ce_specversion": "1.0",
        "ce_type": CONFIRMED_TYPE,
        "ce_source": CE_SOURCE,
        "ce_subject": order_id,
        "content-type": CONTENT_TYPE,
    }
    wrong = {
        name: record.header(name) for name, value in wanted.items() if record.header(name) != value
    }
    return ("kafka.envelope", f"headers {wrong}") if wrong else None


def _payload_problem(facts: LogFacts, record: Record, event: Any) -> tuple[str, str] | None:
    try:
        body = json.loads(record.value or b"")
    except ValueError as exc:
        return "kafka.payload", f"value is not JSON: {exc}"
    order = facts.orders.get(event.originator_id)
    if order is None:
        return "kafka.payload", "the order's history is unreadable"
    wanted = {
        "orderId": str(order.id),
        "customerId": order.customer_id,
        "status": "PAYMENT_CONFIRMED",
        "amount": order.amount,
        "currency": order.currency,
        "lines": documents.contract_lines(line.to_dict() for line in order.lines),
        "payment": {
            "paymentId": str(order.payment_id),
            "provider": order.provider.value,
            "gatewayPaymentId": event.gateway_payment_id,
        },
        "confirmedAt": rfc3339(event.timestamp),
    }
    wrong = sorted(name for name, value in wanted.items() if body.get(name) != value)
    return ("kafka.payload", f"fields unlike the log: {wrong}") if wrong else None
