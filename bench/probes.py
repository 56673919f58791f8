"""Samplers that run beside the checkout load: projection lag and outbox latency.

Projection lag: a probe customer checks out every `interval` seconds; from the moment the
201 arrives (the order's transaction has committed by then) it polls the payment status
view's row for that order on its own connection every 2 ms; lag = first visible - 201.

Outbox latency: each probe order is then paid in the provider sandbox as a customer would
(Stripe: confirm the PaymentIntent with `pm_card_visa` through the stripe SDK; Razorpay:
the sandbox's checkout.js stand-in). The sandbox sends the signed webhook, the API records
the payment and confirms the order in one transaction, the relay publishes
`OrderConfirmed`. A consumer assigned to every partition of the topic (no group join)
takes each record; latency = receipt - `ce_time`. `ce_time` is the Order.Confirmed event's
timestamp, taken while the confirming transaction is prepared, just before it commits, so
the figure slightly over-states commit -> ack; receipt comes after the broker's ack by one
fetch (fetch.wait.max.ms = 10, measured separately as `consumer_overhead_ms`). The
record's own timestamp is its CreateTime (when the relay produced it; the embedded broker
does not stamp LogAppendTime), reported as `to_produce_ms`: a lower bound of commit -> ack.

Where the server keeps commit times (`track_commit_timestamp`, which the bench turns on
with its statement counter), each record's latency is also split at the confirming
transaction's commit (`pg_xact_commit_timestamp` of the event's row): `event_to_commit_ms`
(the API: from the event's timestamp to its commit) and `commit_to_produce_ms` (the relay:
from that commit to its produce call), and `commit_to_broker_ms` is the outbox's own part,
from that commit to the record's receipt.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
import stripe
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from bench.stats import summarise_ms
from entrypoints.tokens import mint_token

VIEW_POLL_S = 0.002
PENDING_POLL_S = 0.02
PENDING_TIMEOUT_S = 60.0
STRIPE_TEST_KEY = "sk_test_bench_customer"


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return value or ""


def parse_rfc3339(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def consumer_config(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": "checkout-bench",  # required by the client; never joined (assign)
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 10,
        "fetch.error.backoff.ms": 10,
        "auto.offset.reset": "earliest",
    }


def assign_all(consumer: Consumer, topic: str, timeout: float = 30.0) -> int:
    metadata = consumer.list_topics(topic, timeout=timeout)
    partitions = sorted(metadata.topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    return len(partitions)


@dataclass
class _Probe:
    order_id: str
    customer: str
    provider: str
    committed_at: float  # when the 201 arrived
    paid_at: float | None = None


@dataclass
class ProbeResults:
    lags: list[float] = field(default_factory=list)
    outbox: list[float] = field(default_factory=list)
    to_produce: list[float] = field(default_factory=list)
    pay_to_broker: list[float] = field(default_factory=list)
    event_to_commit: list[float] = field(default_factory=list)
    commit_to_produce: list[float] = field(default_factory=list)
    commit_to_broker: list[float] = field(default_factory=list)
    placed: int = 0
    placed_in_window: int = 0  # probe checkouts answered 201 inside the measured window
    paid: int = 0
    confirmed: int = 0
    problems: list[str] = field(default_factory=list)


class Probes:
    def __init__(
        self,
        *,
        base_url: str,
        sandbox_url: str,
        jwt_secret: str,
        conninfo: str,
        bootstrap: str,
        topic: str,
        skus: tuple[str, ...],
        interval: float,
        window: tuple[float, float],
        label: str = "probe",
    ) -> None:
        self.base_url = base_url
        self.sandbox_url = sandbox_url
        self.jwt_secret = jwt_secret
        self.conninfo = conninfo
        self.bootstrap = bootstrap
        self.topic = topic
        self.skus = skus
        self.interval = interval
        self.window = window
        self.label = label  # customer ids: <label>-<n>, distinct across phases
        self.results = ProbeResults()
        self._stop_placing = threading.Event()
        self._stop_all = threading.Event()
        self._to_pay: queue.Queue[_Probe | None] = queue.Queue()
        self._probes: dict[str, _Probe] = {}
        self._lock = threading.Lock()
        self._unpaid = 0  # probes handed to the payers and not yet paid (or given up on)
        self._threads: list[threading.Thread] = []
        # order id -> (its event's timestamp, the record's produce time), in the window
        # order id: (its event's time, the record's CreateTime or None, its receipt)
        self._produced: dict[str, tuple[float, float | None, float]] = {}

    def _in_window(self, moment: float) -> bool:
        return self.window[0] <= moment <= self.window[1]

    def _problem(self, message: str) -> None:
        with self._lock:
            if len(self.results.problems) < 20:
                self.results.problems.append(message)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        consumer = Consumer(consumer_config(self.bootstrap))
        assign_all(consumer, self.topic)
        targets: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [
            ("probe-consume", self._consume, (consumer,)),
            ("probe-place", self._place, ()),
            ("probe-pay-1", self._pay, ()),
            ("probe-pay-2", self._pay, ()),
        ]
        for name, target, args in targets:
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self, drain_timeout: float = 30.0, first_timeout: float = 10.0) -> ProbeResults:
        """Stop placing; give paid orders time to reach the broker; stop everything.

        Waits until every probe order handed to the payers was paid (or given up on) and
        every paid one's record arrived, at most `drain_timeout` seconds, or
        `first_timeout` if no record arrived at all (nothing is coming).
        """
        self._stop_placing.set()
        started = time.monotonic()
        while True:
            waited = time.monotonic() - started
            with self._lock:
                paid, confirmed = self.results.paid, self.results.confirmed
                unpaid = self._unpaid
            if confirmed >= paid and unpaid == 0:
                break
            if waited > drain_timeout or (confirmed == 0 and waited > first_timeout):
                break
            time.sleep(0.1)
        self._stop_all.set()
        for _ in range(2):
            self._to_pay.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._split_at_commits()
        return self.results

    def _split_at_commits(self) -> None:
        """Each record's latency split at its confirming commit, where the server kept
        commit times (else nothing: the split is left out)."""
        produced = dict(self._produced)
        if not produced:
            return
        query = (
            "SELECT originator_id::text, pg_xact_commit_timestamp(xmin) FROM checkout_events "
            "WHERE originator_id = ANY(%s::uuid[]) AND topic LIKE '%%Order.Confirmed'"
        )
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                rows = conn.execute(query, [list(produced)]).fetchall()
        except psycopg.Error as exc:  # track_commit_timestamp is off: no split
            self._problem(f"no commit times: {exc}")
            return
        for order_id, committed_at in rows:
            if committed_at is None or order_id not in produced:
                continue
            event_time, created, received_at = produced[order_id]
            commit = committed_at.timestamp()
            self.results.event_to_commit.append(commit - event_time)
            self.results.commit_to_broker.append(received_at - commit)
            if created is not None:
                self.results.commit_to_produce.append(created - commit)

    # -- projection lag, then handing the order to a payer ---------------------------------------

    def _place(self) -> None:
        number = 0
        with (
            httpx.Client(base_url=self.base_url, timeout=30.0) as client,
            psycopg.connect(self.conninfo, autocommit=True) as conn,
        ):
            next_at = time.monotonic()
            while not self._stop_placing.is_set():
                next_at += self.interval
                number += 1
                customer = f"{self.label}-{number}"
                provider = "stripe" if number % 2 else "razorpay"
                sku = self.skus[number % len(self.skus)]
                token = mint_token(self.jwt_secret, customer, (), 4 * 3600)
                try:
                    response = client.post(
                        "/checkout",
                        json={"items": [{"sku": sku, "quantity": 1}], "provider": provider},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError as exc:
                    self._problem(f"probe checkout failed: {exc!r}")
                    continue
                committed_at = time.time()
                if response.status_code != 201:
                    self._problem(f"probe checkout answered {response.status_code}")
                    continue
                order_id = response.json()["orderId"]
                visible_at = self._await_visible(conn, order_id, committed_at + 30)
                probe = _Probe(order_id, customer, provider, committed_at)
                with self._lock:
                    self.results.placed += 1
                    if self._in_window(committed_at):
                        self.results.placed_in_window += 1
                    self._probes[order_id] = probe
                    if visible_at is not None and self._in_window(committed_at):
                        self.results.lags.append(visible_at - committed_at)
                if visible_at is None:
                    self._problem(f"order {order_id} not visible in the view after 30 s")
                with self._lock:
                    self._unpaid += 1
                self._to_pay.put(probe)
                self._stop_placing.wait(max(0.0, next_at - time.monotonic()))

    def _await_visible(
        self, conn: psycopg.Connection[Any], order_id: str, until: float
    ) -> float | None:
        query = "SELECT 1 FROM payment_status_view WHERE order_id = %s"
        while time.time() < until:
            if conn.execute(query, (order_id,)).fetchone() is not None:
                return time.time()
            time.sleep(VIEW_POLL_S)
        return None

    # -- paying in the sandbox ---------------------------------------------------------------------

    def _pay(self) -> None:
        stripe_client = stripe.StripeClient(
            STRIPE_TEST_KEY,
            base_addresses={"api": f"{self.sandbox_url}/stripe"},
            max_network_retries=0,
        )
        with (
            httpx.Client(base_url=self.sandbox_url, timeout=30.0) as sandbox,
            psycopg.connect(self.conninfo, autocommit=True) as conn,
        ):
            while not self._stop_all.is_set():
                probe = self._to_pay.get()
                if probe is None:
                    return
                try:
                    self._pay_one(probe, conn, stripe_client, sandbox)
                finally:
                    with self._lock:
                        self._unpaid -= 1

    def _pay_one(
        self,
        probe: _Probe,
        conn: psycopg.Connection[Any],
        stripe_client: stripe.StripeClient,
        sandbox: httpx.Client,
    ) -> None:
        gateway_order_id = self._await_pending(conn, probe.order_id)
        if gateway_order_id is None:
            if self._stop_all.is_set():
                self._problem(f"order {probe.order_id}: no provider order when the probes stopped")
            else:
                self._problem(f"order {probe.order_id}: no provider order within 60 s")
            return
        try:
            if probe.provider == "stripe":
                stripe_client.payment_intents.confirm(
                    gateway_order_id, params={"payment_method": "pm_card_visa"}
                )
            else:
                answer = sandbox.post(
                    f"/razorpay/v1/sandbox/orders/{gateway_order_id}/pay",
                    json={"outcome": "success"},
                )
                answer.raise_for_status()
        except (stripe.StripeError, httpx.HTTPError) as exc:
            self._problem(f"paying {probe.order_id} failed: {exc!r}")
            return
        with self._lock:
            probe.paid_at = time.time()
            self.results.paid += 1

    def _await_pending(self, conn: psycopg.Connection[Any], order_id: str) -> str | None:
        query = (
            "SELECT gateway_order_id FROM payment_status_view "
            "WHERE order_id = %s AND status = 'pending'"
        )
        deadline = time.monotonic() + PENDING_TIMEOUT_S
        while time.monotonic() < deadline and not self._stop_all.is_set():
            row = conn.execute(query, (order_id,)).fetchone()
            if row is not None and row[0]:
                return str(row[0])
            time.sleep(PENDING_POLL_S)
        return None

    # -- the broker side -----------------------------------------------------------------------

    def _consume(self, consumer: Consumer) -> None:
        try:
            while not self._stop_all.is_set():
                record = consumer.poll(0.1)
                if record is None:
                    continue
                received_at = time.time()
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        self._problem(f"consumer: {error}")
                    continue
                headers = {h[0]: _text(h[1]) for h in record.headers() or []}
                order_id = _text(record.key())
                with self._lock:
                    probe = self._probes.get(order_id)
                    if probe is None or "ce_time" not in headers:
                        continue
                    committed = parse_rfc3339(headers["ce_time"])
                    self.results.confirmed += 1
                    if not self._in_window(committed):
                        continue
                    self.results.outbox.append(received_at - committed)
                    _, created_ms = record.timestamp()
                    created = created_ms / 1000 if created_ms > 0 else None
                    if created is not None:
                        self.results.to_produce.append(created - committed)
                    self._produced[order_id] = (committed, created, received_at)
                    if probe.paid_at is not None:
                        self.results.pay_to_broker.append(received_at - probe.paid_at)
        finally:
            with contextlib.suppress(Exception):
                consumer.close()


def consumer_overhead(bootstrap: str, topic: str, messages: int = 100) -> dict[str, Any] | None:
    """Broker ack -> receipt by a consumer configured like the probe's, on an idle broker.

    Produces `messages` records one at a time to a scratch topic and compares each delivery
    report's time with the time the assigned consumer receives the record.
    """
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
    )
    consumer = Consumer(consumer_config(bootstrap))
    acked: dict[str, float] = {}
    received: dict[str, float] = {}
    try:
        producer.produce(topic, key=b"warm", value=b"warm")
        producer.flush(30)
        assign_all(consumer, topic)
        stop = threading.Event()

        def consume() -> None:
            while not stop.is_set():
                record = consumer.poll(0.05)
                if record is not None and not record.error():
                    received[(record.key() or b"").decode()] = time.time()

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        time.sleep(1.0)

        def delivered(error: Any, record: Any) -> None:
            if error is None:
                acked[record.key().decode()] = time.time()

        for n in range(messages):
            producer.produce(topic, key=str(n).encode(), value=b"x", on_delivery=delivered)
            producer.flush(10)
            time.sleep(0.02)
        time.sleep(1.0)
        stop.set()
        thread.join(timeout=10)
    finally:
        consumer.close()
        producer.flush(5)
    return summarise_ms(received[k] - acked[k] for k in acked if k in received)
