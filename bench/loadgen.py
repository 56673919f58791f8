"""The load generator: its own process, N client threads, per-request latencies.

`run_load` starts a fresh interpreter (multiprocessing "spawn"), whose threads each keep
one HTTP/1.1 keep-alive connection and send requests back to back: a closed loop at a
fixed concurrency. The load generator shares the machine's two cores with the engine, so
it spends as little as it can per request: the connections are the engine's own lean
client (``infrastructure.payments.keepalive``: one send per request, httptools parsing),
and each client's tokens are minted before the load begins (a customer per checkout, so
the API still verifies a token it has never seen for every one). Requests completing
during the warm-up are not counted. The process measures its own CPU time over the
measured window, so the report can say how much of the machine the load generator took.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.stats import cpu_share, rate, summarise_ms
from entrypoints.tokens import mint_token
from infrastructure.payments.keepalive import KeepAliveClient, Unreachable

CHECKOUT = "checkout"
STATUS = "status"
MAX_ORDERS_RETURNED = 50_000
INTERVAL_S = 10.0  # throughput is also reported per slice of this length
TOKENS_PER_CLIENT_S = 60  # tokens minted ahead, per client and second of the load


@dataclass(frozen=True)
class LoadSpec:
    mode: str  # CHECKOUT or STATUS
    base_url: str
    jwt_secret: str
    concurrency: int
    warmup_s: float
    duration_s: float
    start_at: float  # time.time() at which the client threads begin
    skus: tuple[str, ...] = ()
    orders: tuple[tuple[str, str], ...] = ()  # (order id, owner) for STATUS
    label: str = "bench"
    seed: int = 1

    @property
    def window(self) -> tuple[float, float]:
        begin = self.start_at + self.warmup_s
        return begin, begin + self.duration_s


@dataclass
class _Tally:
    """What one client thread saw: latencies and outcomes of requests in the window."""

    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # when each counted one completed
    outcomes: Counter[str] = field(default_factory=Counter)
    orders: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0


def checkout_body(rng: random.Random, skus: tuple[str, ...], provider: str) -> dict[str, Any]:
    """One to three distinct skus, one or two units each."""
    picked = rng.sample(skus, k=min(len(skus), rng.choice((1, 1, 2, 3))))
    return {
        "items": [{"sku": sku, "quantity": rng.choice((1, 1, 2))} for sku in picked],
        "provider": provider,
    }


class _Connection:
    """One keep-alive connection to the API; reopened after a failure."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")
        self._client = KeepAliveClient(
            timeout=30.0, connect_timeout=5.0, max_idle=1, user_agent="checkout-bench"
        )

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def send(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """The answer's status and body; ``Unreachable`` when there is none."""
        headers = {"Authorization": f"Bearer {token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        answer = self._client.request(method, self._base + path, body=payload, headers=headers)
        return answer.status, answer.body


def _tokens(spec: LoadSpec, number: int) -> list[tuple[str, str]]:
    """(customer, token) for each checkout client ``number`` can make in the load: a few
    more than the fastest client of this bench ever made (60 a second)."""
    count = int(TOKENS_PER_CLIENT_S * (spec.warmup_s + spec.duration_s + 5))
    customers = (f"{spec.label}-{number}-{sequence}" for sequence in range(1, count + 1))
    return [(c, mint_token(spec.jwt_secret, c, (), 4 * 3600)) for c in customers]


def _client(spec: LoadSpec) -> _Connection:
    return _Connection(spec.base_url)


def _checkout_loop(
    spec: LoadSpec, number: int, stop_at: float, tally: _Tally, minted: list[tuple[str, str]]
) -> None:
    rng = random.Random(spec.seed * 1000 + number)
    begin, end = spec.window
    sequence = 0
    with _client(spec) as client:
        while time.time() < stop_at:
            sequence += 1
            if sequence <= len(minted):
                customer, token = minted[sequence - 1]
            else:  # a faster client than any yet: mint as it goes
                customer = f"{spec.label}-{number}-{sequence}"
                token = mint_token(spec.jwt_secret, customer, (), 4 * 3600)
            provider = "stripe" if sequence % 2 else "razorpay"
            body = checkout_body(rng, spec.skus, provider)
            started = time.perf_counter()
            try:
                status, answer = client.send("POST", "/checkout", token, body)
                outcome = str(status)
            except Unreachable as exc:
                status, answer, outcome = 0, b"", f"error:{type(exc).__name__}"
            elapsed = time.perf_counter() - started
            finished = time.time()
            tally.total += 1
            keep = len(tally.orders) < MAX_ORDERS_RETURNED // spec.concurrency
            if status == 201 and keep:
                tally.orders.append((json.loads(answer)["orderId"], customer))
            if begin <= finished <= end:
                tally.outcomes[outcome] += 1
                if outcome == "201":
                    tally.latencies.append(elapsed)
                    tally.finished.append(finished)


def _status_loop(
    spec: LoadSpec, number: int, stop_at: float, tally: _Tally, _minted: list[tuple[str, str]]
) -> None:
    rng = random.Random(spec.seed * 1000 + number)
    begin, end = spec.window
    tokens: dict[str, str] = {}
    with _client(spec) as client:
        while time.time() < stop_at:
            order_id, customer = rng.choice(spec.orders)
            token = tokens.get(customer)
            if token is None:
                token = tokens[customer] = mint_token(spec.jwt_secret, customer, (), 4 * 3600)
            started = time.perf_counter()
            try:
                status, _ = client.send("GET", f"/orders/{order_id}/payments", token)
                outcome = str(status)
            except Unreachable as exc:
                outcome = f"error:{type(exc).__name__}"
            elapsed = time.perf_counter() - started
            finished = time.time()
            tally.total += 1
            if begin <= finished <= end:
                tally.outcomes[outcome] += 1
                if outcome == "200":
                    tally.latencies.append(elapsed)
                    tally.finished.append(finished)


def per_interval(finished: list[float], begin: float, duration: float, step: float) -> list[float]:
    """Completions per second in consecutive `step`-second slices of the window."""
    slices = max(1, round(duration / step))
    counts = [0] * slices
    for moment in finished:
        index = min(slices - 1, max(0, int((moment - begin) // step)))
        counts[index] += 1
    width = duration / slices
    return [round(count / width, 1) for count in counts]


def generate(spec: LoadSpec) -> dict[str, Any]:
    """Runs in the load generator process: the threads, then the summary."""
    loop = _checkout_loop if spec.mode == CHECKOUT else _status_loop
    if spec.mode == STATUS and not spec.orders:
        raise ValueError("status polling needs orders to poll")
    begin, end = spec.window
    tallies = [_Tally() for _ in range(spec.concurrency)]
    minted = [_tokens(spec, n) if spec.mode == CHECKOUT else [] for n in range(spec.concurrency)]
    threads = [
        threading.Thread(target=loop, args=(spec, n, end, tallies[n], minted[n]), daemon=True)
        for n in range(spec.concurrency)
    ]
    me = psutil.Process()
    time.sleep(max(0.0, spec.start_at - time.time()))
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, begin - time.time()))
    cpu_begin, wall_begin = sum(me.cpu_times()[:2]), time.time()
    time.sleep(max(0.0, end - time.time()))
    cpu_end, wall_end = sum(me.cpu_times()[:2]), time.time()
    for thread in threads:
        thread.join(timeout=60)
    latencies = [s for t in tallies for s in t.latencies]
    outcomes: Counter[str] = Counter()
    for tally in tallies:
        outcomes.update(tally.outcomes)
    ok = "201" if spec.mode == CHECKOUT else "200"
    errors = {k: v for k, v in outcomes.items() if k != ok}
    return {
        "mode": spec.mode,
        "concurrency": spec.concurrency,
        "warmup_s": spec.warmup_s,
        "duration_s": spec.duration_s,
        "completed": len(latencies),
        "throughput_per_s": rate(len(latencies), spec.duration_s),
        "latency_ms": summarise_ms(latencies),
        "throughput_by_interval": per_interval(
            [m for t in tallies for m in t.finished], begin, spec.duration_s, INTERVAL_S
        ),
        "interval_s": INTERVAL_S,
        "errors": errors,
        "requests_including_warmup": sum(t.total for t in tallies),
        "load_generator_cpu": cpu_share(
            cpu_end - cpu_begin, wall_end - wall_begin, os.cpu_count() or 1
        ),
        "load_generator_pid": os.getpid(),
        "orders": [o for t in tallies for o in t.orders],
    }


def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Run `spec` in a separate process and wait for its summary."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(generate, spec).result()


def start_load(spec: LoadSpec) -> tuple[ProcessPoolExecutor, Any]:
    """Like run_load, without waiting: (pool, future); the caller shuts the pool down."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
    return pool, pool.submit(generate, spec)
