"""Real reachability checks for /readyz: a query on the database, metadata from the broker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.engine import Engine

from infrastructure.observability import READY

# librdkafka writes its own lines to stderr unless given a logger. A probe of a broker that
# is down makes some twenty of them; the check's answer already says so, so only critical
# ones are kept (as JSON, like every log line).
kafka_log = logging.getLogger("checkout.readiness.kafka")
kafka_log.setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(db: Engine) -> Check:
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", reported, never raised
        READY.labels("database").set(0)
        return Check("database", False, type(exc).__name__)
    READY.labels("database").set(1)
    return Check("database", True, "ok")


def check_broker(bootstrap_servers: str, timeout: float = 3.0) -> Check:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers,
        "socket.timeout.ms": int(timeout * 1000),
        "logger": kafka_log,
    }
    admin: AdminClient | None = None
    try:
        admin = AdminClient(config)
        brokers = len(admin.list_topics(timeout=timeout).brokers)
    except Exception as exc:  # KafkaException on timeout or refusal
        READY.labels("broker").set(0)
        return Check("broker", False, type(exc).__name__)
    finally:
        if admin is not None:
            admin.poll(0)  # hands what librdkafka logged meanwhile to kafka_log
    READY.labels("broker").set(1 if brokers else 0)
    return Check("broker", brokers > 0, f"{brokers} broker(s)")
