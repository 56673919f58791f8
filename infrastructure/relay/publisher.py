"""The Kafka side of the relay: topics, and a producer that reports every delivery.

A batch counts as published only when the broker acknowledged every record of it
(`acks=all`). Any failed delivery fails the whole batch; the producer is then replaced,
because after a broker restart or a fatal idempotence error the old one's producer id
and sequence numbers are worthless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from infrastructure.relay.messages import OutboxMessage

# Settings the relay's guarantees rest on; the caller can't override them.
SAFE_PRODUCER_SETTINGS: dict[str, Any] = {
    "enable.idempotence": True,  # broker-side retries never duplicate nor reorder
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
}
PRODUCER_DEFAULTS: dict[str, Any] = {
    "message.timeout.ms": 30_000,  # a batch fails (and is retried) after this
    "linger.ms": 5,
}
_CONNECTION_KEYS = ("bootstrap.servers", "client.id", "security.", "sasl.", "ssl.", "logger")

kafka_log = logging.getLogger("checkout.relay.kafka")


class DeliveryFailed(RuntimeError):
    """At least one record of the batch was not acknowledged."""


class TopicsUnavailable(RuntimeError):
    """The topics could not be created or checked."""


def producer_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"logger": kafka_log, **PRODUCER_DEFAULTS, **config, **SAFE_PRODUCER_SETTINGS}


def admin_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The connection part of a producer configuration (AdminClient warns on the rest)."""
    admin = {k: v for k, v in config.items() if k.startswith(_CONNECTION_KEYS)}
    admin.setdefault("logger", kafka_log)
    return admin


def ensure_topics(
    config: Mapping[str, Any],
    topics: Sequence[str],
    partitions: int,
    replication: int,
    timeout: float = 10.0,
) -> None:
    """Create the topics that don't exist yet; existing ones are left as they are.

    Creating comes before any metadata request for these names: brokers that
    auto-create topics (Tansu does) would otherwise pick their own partition count.
    """
    admin = AdminClient(admin_settings(config))
    new = [NewTopic(name, partitions, replication) for name in topics]
    try:
        futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=timeout + 1)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TopicsUnavailable(f"{name}: {exc.args[0].str()}") from exc
    except (KafkaException, TimeoutError) as exc:
        raise TopicsUnavailable(str(exc)) from exc


class KafkaPublisher:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self._settings = producer_settings(config)
        self._producer: Producer | None = None

    @property
    def _delivery_timeout(self) -> float:
        return float(self._settings["message.timeout.ms"]) / 1000

    def publish(
        self, messages: Sequence[OutboxMessage], delivered: Callable[[OutboxMessage], None]
    ) -> None:
        """Produce `messages` in order and wait for every delivery report.

        `delivered` is called for each acknowledged record (also when the batch as a
        whole fails), so a retry can skip what the broker already has.
        """
        producer = self._producer = self._producer or Producer(self._settings)
        errors: list[str] = []
        try:
            for message in messages:
                self._produce(producer, message, delivered, errors)
        except DeliveryFailed:
            self.reset()
            raise
        # Every record either gets acked or times out within message.timeout.ms.
        remaining = producer.flush(self._delivery_timeout + 5)
        if errors or remaining:
            self.reset()
            raise DeliveryFailed(errors[0] if errors else f"{remaining} records unconfirmed")

    def _produce(
        self,
        producer: Producer,
        message: OutboxMessage,
        delivered: Callable[[OutboxMessage], None],
        errors: list[str],
    ) -> None:
        def report(error: KafkaError | None, _record: object) -> None:
            if error is None:
                delivered(message)
            else:
                errors.append(f"{message.topic}: {error.str()}")

        headers: list[tuple[str, str | bytes | None]] = list(message.headers)
        while True:
            try:
                producer.produce(
                    message.topic,
                    key=message.key,
                    value=message.value,
                    headers=headers,
                    on_delivery=report,
                )
                return
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain it
            except KafkaException as exc:
                raise DeliveryFailed(f"{message.topic}: {exc}") from exc

    def reset(self) -> None:
        """Drop the producer and whatever it still holds; the next batch gets a new one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.purge()
            producer.flush(0)
            producer.close()

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is still queued (bounded), then close."""
        producer, self._producer = self._producer, None
        if producer is not None:
            if producer.flush(timeout):
                producer.purge()  # unconfirmed: the position was not saved, so they come again
                producer.flush(0)
            producer.close()
