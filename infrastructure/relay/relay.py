"""The outbox relay: committed Order events from the notification log to Kafka (adr/0003).

One pass: read the head id, read the relayed events after the saved position up to
that head, produce their messages, wait for every acknowledgement, then save the new
position. Ids up to a committed head are final (the recorder's table lock makes them
visible in commit order), so nothing is skipped; nothing is saved before the broker
has it, so nothing is lost; a crash between the two re-sends the batch with the same
ce_ids. A pass that published nothing (most events are not relayed) defers its save, by
at most ``save_every``: a crash meanwhile costs a re-read that relays nothing. Only the
process holding the lease relays; the others wait as standbys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.backoff import Backoff
from application.crash_points import crash_point
from domain import Order
from infrastructure.database import DatabaseAddress
from infrastructure.relay import metrics
from infrastructure.relay.lease import Lease, LeaseLost
from infrastructure.relay.messages import (
    RELAYED_EVENT_TOPICS,
    OutboxMessage,
    RelayTopics,
    is_relayed,
    to_message,
)
from infrastructure.relay.publisher import KafkaPublisher, ensure_topics
from projections.migrations import upgrade_database

log = structlog.get_logger(__name__)


class RelayStep(StrEnum):
    """Points of a pass where a test can inject a crash (`on_step`)."""

    BEFORE_PRODUCE = "before_produce"
    BEFORE_SAVE = "before_save"  # every record acknowledged, position not yet saved


@dataclass(frozen=True)
class RelayOptions:
    name: str = metrics.DEFAULT_RELAY_NAME
    batch_size: int = 500
    safety_poll: float = 5.0  # re-read without a NOTIFY, in case one was missed
    standby_retry: float = 1.0  # how often a standby tries to take the lease
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    replication: int = 1
    admin_timeout: float = 10.0
    # A pass that published nothing saves its position at most this often: re-reading
    # events that relay nothing is all a crash in between costs.
    save_every: float = 1.0
    # After a commit's NOTIFY, passes begin at least this far apart (RELAY_GATHER_MS): under
    # load a commit lands every few milliseconds, and a pass for each read the head and the
    # log twice to relay what one pass a moment later relays for all of them. It adds up to
    # this to commit -> broker, and nothing to a pass behind the head (adr/0007 addendum).
    gather: float = 0.02


def _address(database: DatabaseAddress | Engine) -> DatabaseAddress:
    if isinstance(database, DatabaseAddress):
        return database
    return DatabaseAddress.parse(database.url.render_as_string(hide_password=False))


def one_per_order(
    notifications: Sequence[Notification], end: int
) -> tuple[list[Notification], int]:
    """Cut the batch before an order's second event, and the end position with it.

    A batch can fail after some of its records were acknowledged; retrying it must not
    put an order's later record before its earlier one, so an order's next record is
    only produced once the previous one is acknowledged.
    """
    seen: set[UUID | str] = set()
    for index, notification in enumerate(notifications):
        if notification.originator_id in seen:
            return list(notifications[:index]), notification.id - 1
        seen.add(notification.originator_id)
    return list(notifications), end


class OutboxRelay:
    def __init__(
        self,
        app: CheckoutApplication,
        database: DatabaseAddress | Engine,
        producer_config: Mapping[str, Any],
        topics: RelayTopics | None = None,
        partitions: int = 3,
        *,
        options: RelayOptions | None = None,
        on_step: Callable[[RelayStep], None] | None = None,
    ) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("the outbox relay needs the PostgreSQL event store")
        self._app = app
        self._channel = recorder.channel_name
        self._address = _address(database)
        self._producer_config = dict(producer_config)
        self.topics = topics or RelayTopics()
        self._partitions = partitions
        self._options = options or RelayOptions()
        self._on_step = on_step or (lambda _step: None)
        self._publisher = KafkaPublisher(producer_config)
        self._backoff = Backoff(self._options.backoff_initial, self._options.backoff_max)
        self._failed_passes = 0  # in a row: the backoff grows with them
        self._acked: set[str] = set()  # delivered since the last saved position
        self._topics_ready = False
        self.is_active = False
        self.position = 0
        self._saved = 0  # the position as last saved
        self._saved_at = 0.0  # when (time.monotonic())
        self.passes = 0
        self.lease_attempts = 0

    def run_forever(self, stop: threading.Event) -> None:
        """Relay while holding the lease, stand by otherwise, until `stop` is set."""
        self._upgrade_database()
        try:
            while not stop.is_set():
                lease = self._await_lease(stop)
                if lease is None:
                    break
                with lease:
                    self._lead(lease, stop)
        finally:
            self._publisher.close()
            metrics.ACTIVE.set(0)
            log.info("relay stopped", relay=self._options.name)

    def _upgrade_database(self) -> None:
        """The relay_position table, with every other, as this process starts (adr/0012)."""
        db = self._address.sqlalchemy_engine(pool_size=1)
        try:
            upgrade_database(db)
        finally:
            db.dispose()

    def _await_lease(self, stop: threading.Event) -> Lease | None:
        while not stop.is_set():
            self.lease_attempts += 1
            try:
                lease = Lease.try_acquire(self._address, self._options.name, self._channel)
            except Exception as exc:  # database unreachable: stay standby and retry
                log.warning("relay lease unavailable", error=str(exc))
                lease = None
            if lease is not None:
                return lease
            stop.wait(self._options.standby_retry)
        return None

    def _lead(self, lease: Lease, stop: threading.Event) -> None:
        self.is_active = True
        metrics.ACTIVE.set(1)
        log.info("relay active", relay=self._options.name)
        try:
            self.position = self._saved = lease.position()
            self._saved_at = time.monotonic()
            while not stop.is_set():
                began = time.monotonic()
                more = self._pass_or_back_off(lease, stop)
                if not more:
                    if lease.wait_for_commit(self._idle_wait(), stop):
                        stop.wait(max(0.0, began + self._options.gather - time.monotonic()))
                    if self._saved < self.position:
                        self._save_if_due(lease, self.position, published=False)
        except LeaseLost as exc:
            log.warning("relay lease lost, standing by", error=str(exc))
        finally:
            self.is_active = False
            metrics.ACTIVE.set(0)

    def _idle_wait(self) -> float:
        """Until the next commit, the safety poll, or the deferred save, whichever is first."""
        if self._saved >= self.position:
            return self._options.safety_poll
        due = self._saved_at + self._options.save_every - time.monotonic()
        return max(0.0, min(self._options.safety_poll, due))

    def _pass_or_back_off(self, lease: Lease, stop: threading.Event) -> bool:
        """One pass; True when more is waiting. Failures wait, then the caller retries."""
        try:
            more = self._pass(lease)
        except LeaseLost:
            raise
        except Exception as exc:
            metrics.FAILURES.labels(type(exc).__name__).inc()
            self._topics_ready = False  # a restarted broker may have lost them
            self._failed_passes += 1
            delay = self._backoff.delay(self._failed_passes)
            log.warning("relay pass failed", error=str(exc), retry_in=round(delay, 2))
            self._report_backlog()
            stop.wait(delay)
            return True
        self._failed_passes = 0
        self.passes += 1
        return more

    def _pass(self, lease: Lease) -> bool:
        head = self._app.head_position()
        if head <= self.position:
            self._report_backlog(head)
            return False
        batch = self._app.recorder.select_notifications(
            start=self.position,
            limit=self._options.batch_size,
            stop=head,
            topics=RELAYED_EVENT_TOPICS,
            inclusive_of_start=False,
        )
        # A short page means every id up to head was examined, relayed events or not.
        end = batch[-1].id if len(batch) == self._options.batch_size else head
        notifications, end = one_per_order(batch, end)
        messages = [m for m in map(self._message, notifications) if m is not None]
        self._publish([m for m in messages if m.ce_id not in self._acked], lease)
        self._save_if_due(lease, end, published=bool(messages))
        self._acked.clear()
        self.position = end
        self._report_backlog(head)
        return end < head

    def _save_if_due(self, lease: Lease, end: int, published: bool) -> None:
        """Save ``end`` now if this pass published, or if the last save is a while ago."""
        if published or time.monotonic() - self._saved_at >= self._options.save_every:
            lease.save(end)
            self._saved_at = time.monotonic()
            self._saved = end

    def _message(self, notification: Notification) -> OutboxMessage | None:
        event = self._app.mapper.to_domain_event(notification)
        if not isinstance(event, DomainEvent) or not is_relayed(event):
            return None
        order = self._app.load(Order, event.originator_id, version=event.originator_version)
        return to_message(event, order, self.topics)

    def _publish(self, messages: Sequence[OutboxMessage], lease: Lease) -> None:
        if not messages:
            return
        lease.check()  # never publish for a lease that is already gone
        if not self._topics_ready:
            self._ensure_topics()
        self._on_step(RelayStep.BEFORE_PRODUCE)
        crash_point("relay.before_produce")
        self._publisher.publish(messages, self._delivered)
        self._on_step(RelayStep.BEFORE_SAVE)
        crash_point("relay.before_save")

    def _delivered(self, message: OutboxMessage) -> None:
        self._acked.add(message.ce_id)
        metrics.PUBLISHED.labels(message.topic).inc()
        metrics.PUBLISH_LATENCY.observe(max(time.time() - message.event_time.timestamp(), 0.0))

    def _ensure_topics(self) -> None:
        ensure_topics(
            self._producer_config,
            self.topics.names,
            self._partitions,
            self._options.replication,
            self._options.admin_timeout,
        )
        self._topics_ready = True

    def _report_backlog(self, head: int | None = None) -> None:
        try:
            events, seconds = metrics.backlog_at(self._app, self.position, head)
        except Exception as exc:  # metrics must never stop the relay
            log.warning("relay backlog unavailable", error=str(exc))
            return
        metrics.BACKLOG_EVENTS.set(events)
        metrics.BACKLOG_SECONDS.set(seconds)
