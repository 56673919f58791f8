"""Group commit of checkouts: one writer per process decides queued checkouts in batches
and saves each batch in one transaction (adr/0019).

A checkout costs the database one lock of the events table and one commit (an fsync)
whichever way it is saved, and under load every request thread waited for its own. The
writer takes every checkout that queued while the last batch committed and, per batch:

1. brings its cached Product and Stock aggregates up to date with one query for the
   events other writers appended since (``EventTail.since``);
2. finds, with one query, the orders that Idempotency-Keys of the batch already placed;
3. decides each checkout in queue order on the cached aggregates (``decide``: every check
   that can refuse runs before a stock event is triggered, so a refused checkout leaves
   nothing pending and commits nothing);
4. saves every new order, payment and changed stock in one ``app.save``.

So a batch is exactly its checkouts run one by one in queue order and committed together.
A conflict (another process or a webhook moved a stock, or placed the same order) evicts
what the batch changed and decides the batch again from fresh state, a bounded number
of times; any other failure evicts and fails every checkout of the batch, and a kill
mid-save leaves none of it (one transaction).
"""

from __future__ import annotations

import copy
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError, StoredEvent

from application.application import CheckoutApplication
from application.checkout import AUTOMATIC, CapturePolicy, CheckoutRequest, Placed, decide
from application.errors import ApplicationError, ContentionExhausted, IdempotencyConflict
from application.ports import Clock
from domain import DomainError, Order, Payment, Product, Stock

log = structlog.get_logger(__name__)

MAX_BATCH = 64
# A batch redone this many times after conflicts fails with ContentionExhausted (503). 8
# was too few on a CPU-starved machine: two writers and a canceller on 5 hot skus, with two
# busy loops beside them, exhausted 8 in 4 runs of 10, each conflict a third party's commit
# landing inside the batch's refresh-to-save window (the issue-14 notes of 2026-12-03).
REDO_ATTEMPTS = 16
CACHE_SIZE = 10_000
TURNS_AFTER_CONFLICT_S = 30.0


class EventTail(Protocol):
    """The two reads a batch makes, each one query however many aggregates it names."""

    def since(self, versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate after the version given, in order."""
        ...

    def first_events(self, ids: Iterable[UUID]) -> dict[UUID, StoredEvent]:
        """Each aggregate's first event, for those of ``ids`` that exist."""
        ...

    def turn(self) -> AbstractContextManager[None]:
        """Held from a batch's refresh to its commit: the writers of several processes take
        turns, so that they do not conflict with each other (adr/0020)."""
        ...

    def announce(self) -> None:
        """Make this writer known to the writers of other processes (``others_writing``)."""
        ...

    def others_writing(self) -> bool:
        """Whether a writer of another process is about. Only then can turns spare a
        conflict: the other parties (a webhook's stock commit, a cancel, the reaper) never
        take them."""
        ...


class RecorderTail:
    """``EventTail`` over any eventsourcing recorder: one query per aggregate (in-memory
    stores and tests; PostgreSQL has ``infrastructure.event_tail.PostgresEventTail``)."""

    def __init__(self, app: CheckoutApplication) -> None:
        self.recorder = app.recorder

    def since(self, versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        found = {key: list(self.recorder.select_events(key, gt=v)) for key, v in versions.items()}
        return {key: events for key, events in found.items() if events}

    def first_events(self, ids: Iterable[UUID]) -> dict[UUID, StoredEvent]:
        found = {key: self.recorder.select_events(key, lte=1) for key in ids}
        return {key: events[0] for key, events in found.items() if events}

    def turn(self) -> AbstractContextManager[None]:
        return nullcontext()  # one process: its writer is the only one

    def announce(self) -> None:
        pass

    def others_writing(self) -> bool:
        return False


class _Aggregates:
    """The writer's Product and Stock aggregates, least recently used evicted first.

    An entry is an aggregate at its stored version, or None for one that does not exist
    (yet): version 0, so its creation is found by the next refresh like any other event.
    """

    def __init__(self, app: CheckoutApplication, tail: EventTail, size: int) -> None:
        self.app = app
        self.tail = tail
        self.size = size
        self._entries: OrderedDict[UUID, Any] = OrderedDict()

    def refresh(self, ids: Iterable[UUID]) -> None:
        wanted = list(dict.fromkeys(ids))
        known = {key: self._version(key) for key in wanted if key in self._entries}
        for key, events in self.tail.since(known).items():
            aggregate = self._entries[key]
            self._entries[key] = self.app.fold(events, aggregate)
        for key in wanted:
            if key not in self._entries:
                self._entries[key] = self._load(key)
            self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def get(self, key: UUID) -> Any:
        return self._entries.get(key)

    def copies(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The aggregates as stored, to ``restore`` if a batch that changes them fails."""
        return {key: copy.deepcopy(self._entries.get(key)) for key in ids}

    def restore(self, copies: Mapping[UUID, Any]) -> None:
        self._entries.update(copies)

    def evict(self, ids: Iterable[UUID]) -> None:
        for key in ids:
            self._entries.pop(key, None)

    def _version(self, key: UUID) -> int:
        aggregate = self._entries[key]
        return 0 if aggregate is None else int(aggregate.version)

    def _load(self, key: UUID) -> Any:
        try:
            return self.app.repository.get(key)  # its snapshot, then the events after it
        except AggregateNotFoundError:
            return None


@dataclass
class _Queued:
    request: CheckoutRequest
    order_id: UUID
    future: Future[Placed] = field(default_factory=Future)


@dataclass
class _Decided:
    """A checkout of the batch: a new order to save, a replay, or a refusal."""

    queued: _Queued
    order: Order | None = None
    payment: Payment | None = None
    replayed: bool = False
    refused: BaseException | None = None


class CheckoutWriter:
    """Queues checkouts and commits them in batches on its own thread."""

    def __init__(
        self,
        app: CheckoutApplication,
        clock: Clock,
        payment_ttl: timedelta,
        tail: EventTail | None = None,
        *,
        max_batch: int = MAX_BATCH,
        attempts: int = REDO_ATTEMPTS,
        cache_size: int = CACHE_SIZE,
        on_batch: Callable[[int], None] | None = None,
        on_conflict: Callable[[], None] | None = None,
        capture_policy: CapturePolicy = AUTOMATIC,
    ) -> None:
        self.app = app
        self.capture_policy = capture_policy
        self.clock = clock
        self.payment_ttl = payment_ttl
        self.max_batch = max_batch
        self.attempts = attempts
        self.on_batch = on_batch
        self.on_conflict = on_conflict
        self.conflicts = 0  # batches decided again after a conflict, since start
        self._turns_until = 0.0  # take turns with other writers until then (monotonic)
        self._aggregates = _Aggregates(app, tail or RecorderTail(app), cache_size)
        self._queue: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, request: CheckoutRequest) -> Future[Placed]:
        """Queue one checkout; the future holds its Placed, or the error that refused it."""
        queued = _Queued(request, request.order_id())
        with self._lock:
            if self._closed:
                raise RuntimeError("the checkout writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="checkout-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(queued)
        return queued.future

    def place(self, request: CheckoutRequest) -> Placed:
        """Submit and wait: the blocking form, for callers on their own thread."""
        return self.submit(request).result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join()

    # -- the writer's thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._aggregates.tail.announce()
        except Exception as exc:  # the database away: it is announced when it next turns
            log.warning("checkout writer could not announce itself", error=str(exc))
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self.commit(batch)

    def commit(self, batch: Sequence[_Queued]) -> None:
        """Decide and save one batch, redoing it after conflicts; settle every future."""
        if self.on_batch is not None:
            self.on_batch(len(batch))
        for attempt in range(1, self.attempts + 1):
            touched: dict[UUID, Any] = {}
            try:
                with self._turn():
                    decided, position = self._decide_and_save(batch, touched)
            except RecordConflictError:
                # Back to the versions stored before the batch: the next refresh reads what
                # the other writer appended, with one query and no reload.
                self._aggregates.restore(touched)
                if self._others_writing():
                    self._turns_until = time.monotonic() + TURNS_AFTER_CONFLICT_S
                self.conflicts += 1
                if self.on_conflict is not None:
                    self.on_conflict()
                log.info("checkout batch conflicted, deciding it again", attempt=attempt)
                time.sleep(random.uniform(0, 0.002 * attempt))
                continue
            except BaseException as exc:
                self._aggregates.evict(touched)
                log.exception("checkout batch failed", checkouts=len(batch))
                for queued in batch:
                    _settle(queued.future, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for outcome in decided:
                _settle(outcome.queued.future, _result(outcome, position))
            return
        for queued in batch:
            _settle(queued.future, ContentionExhausted(self.attempts))

    def _others_writing(self) -> bool:
        """After a conflict: take turns only if another process's writer may have caused
        it. One that cannot tell (the database away) takes them: they cost two statements
        a batch, a missed one costs conflicts."""
        try:
            return self._aggregates.tail.others_writing()
        except Exception as exc:
            log.warning("could not tell whether other writers are about", error=str(exc))
            return True

    def _turn(self) -> AbstractContextManager[None]:
        """The writers' turn, taken only while another writer is about: from a conflict
        on, for TURNS_AFTER_CONFLICT_S. A writer alone never conflicts, so it never pays
        for the turn's two statements a batch (adr/0020)."""
        if time.monotonic() < self._turns_until:
            return self._aggregates.tail.turn()
        return nullcontext()

    def _decide_and_save(
        self, batch: Sequence[_Queued], touched: dict[UUID, Any]
    ) -> tuple[list[_Decided], int]:
        skus = sorted({sku for queued in batch for sku in queued.request.wanted()})
        stock_ids = [Stock.id_for(sku) for sku in skus]
        self._aggregates.refresh([Product.id_for(sku) for sku in skus] + stock_ids)
        touched.update(self._aggregates.copies(stock_ids))
        firsts = self._placed_earlier(batch)  # and, below, the batch's own new orders
        decided: list[_Decided] = []
        new: list[_Decided] = []
        changed: dict[UUID, Stock] = {}
        expires_at = self.clock.now() + self.payment_ttl
        for queued in batch:
            outcome = _Decided(queued)
            decided.append(outcome)
            first = firsts.get(queued.order_id)
            if first is not None:
                _replay(outcome, *first)
                continue
            wanted = queued.request.wanted()
            products = self._present(Product, wanted)
            stocks = self._present(Stock, wanted)
            versions = {sku: stock.version for sku, stock in stocks.items()}
            try:
                outcome.order, outcome.payment = decide(
                    queued.request,
                    queued.order_id,
                    products,
                    stocks,
                    expires_at,
                    self.capture_policy,
                )
            except (DomainError, ApplicationError) as exc:
                if any(stocks[sku].version != v for sku, v in versions.items()):
                    raise  # refused after triggering a reservation: the batch is unsafe
                outcome.refused = exc
                continue
            new.append(outcome)
            firsts[queued.order_id] = (outcome.order, outcome.payment)
            changed.update((stock.id, stock) for stock in stocks.values())
        if not new:
            return decided, self.app.head_position()
        saved: list[Any] = []
        for outcome in new:
            saved += [outcome.order, outcome.payment]
        recordings = self.app.save(*saved, *changed.values())
        return decided, recordings[-1].notification.id

    def _present(self, kind: type[Any], wanted: Mapping[str, int]) -> dict[str, Any]:
        found = {sku: self._aggregates.get(kind.id_for(sku)) for sku in wanted}
        return {sku: aggregate for sku, aggregate in found.items() if aggregate is not None}

    def _placed_earlier(self, batch: Sequence[_Queued]) -> dict[UUID, tuple[Order, Payment]]:
        """The batch's keyed checkouts whose order an earlier request placed: its order
        and payment as first recorded, for the replay."""
        keyed = {q.order_id for q in batch if q.request.idempotency_key is not None}
        if not keyed:
            return {}
        firsts = self._aggregates.tail.first_events(
            [*keyed, *(Payment.id_for(order_id) for order_id in keyed)]
        )
        placed: dict[UUID, tuple[Order, Payment]] = {}
        for order_id in keyed:
            order_event = firsts.get(order_id)
            payment_event = firsts.get(Payment.id_for(order_id))
            if order_event is None or payment_event is None:
                continue
            order = self.app.fold([order_event])
            payment = self.app.fold([payment_event])
            if isinstance(order, Order) and isinstance(payment, Payment):
                placed[order_id] = (order, payment)
        return placed


def _replay(outcome: _Decided, order: Order, payment: Payment) -> None:
    """Answer ``outcome`` as its key's first response, or refuse a different body."""
    request = outcome.queued.request
    if order.request_fingerprint != request.fingerprint():
        outcome.refused = IdempotencyConflict(request.idempotency_key or "")
        return
    outcome.order, outcome.payment, outcome.replayed = order, payment, True


def _result(outcome: _Decided, position: int) -> Placed | BaseException:
    if outcome.refused is not None:
        return outcome.refused
    assert outcome.order is not None
    assert outcome.payment is not None
    return Placed(outcome.order, outcome.payment, position, replayed=outcome.replayed)


def _settle(future: Future[Placed], result: Placed | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
