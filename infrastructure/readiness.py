"""Real reachability checks for /readyz: a query on the database, metadata from the broker."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.engine import Engine

from infrastructure.observability import READY


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", reported, never raised
        READY.labels("database").set(0)
        return Check("database", False, type(exc).__name__)
    READY.labels("database").set(1)
    return Check("database", True, "ok")


def check_broker(bootstrap_servers: str, timeout: float = 3.0) -> Check:
    try:
        metadata = AdminClient(
            {"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout * 1000)}
        ).list_topics(timeout=timeout)
        brokers = len(metadata.brokers)
    except Exception as exc:  # KafkaException on timeout or refusal
        READY.labels("broker").set(0)
        return Check("broker", False, type(exc).__name__)
    READY.labels("broker").set(1 if brokers else 0)
    return Check("broker", brokers > 0, f"{brokers} broker(s)")
