"""What the same PostgreSQL server does without the engine, at the same concurrency.

- `postgres`: plain psycopg, one single-row INSERT per transaction (autocommit), into a
  scratch table; each client thread has its own connection.
- `eventsourcing`: the eventsourcing library alone, with the engine's persistence settings
  (the same table lock per insert), saving a new one-event aggregate per transaction.
- `batched_insert`: the physical ceiling of a checkout's write. Raw psycopg into an events
  table made by eventsourcing's recorder (same columns, primary key and notification id
  index); one transaction = `SET LOCAL lock_timeout`, `LOCK TABLE ... IN EXCLUSIVE MODE`
  (what the recorder runs before every insert), one INSERT of 16 checkouts x 5 rows,
  commit, pipelined in one round trip; 16 checkouts per commit. Each row's state has the
  mean size of the engine's own stored events in this run.

All run in their own process (like the load generator), closed loop, warm-up excluded.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import psutil
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from bench.stats import cpu_share, rate, summarise_ms
from entrypoints.harness import event_store_env, libpq_url

POSTGRES = "postgres"
EVENTSOURCING = "eventsourcing"
BATCHED = "batched_insert"
SCRATCH_TABLE = "bench_baseline_inserts"
BATCH_CHECKOUTS = 16
ROWS_PER_CHECKOUT = 5
DEFAULT_STATE_BYTES = 400


class Ping(Aggregate):
    """The smallest aggregate: created with one attribute, one event."""

    def __init__(self, number: int) -> None:
        self.number = number


class BaselineApplication(Application[Any]):
    name = "benchbaseline"  # its own events table: benchbaseline_events


class BatchedApplication(Application[Any]):
    """Only to create its events table (benchbatched_events) as the recorder makes one."""

    name = "benchbatched"


def _batched_client(conninfo: str, state_bytes: int) -> tuple[Any, Any]:
    from psycopg import sql

    table = sql.Identifier(f"{BatchedApplication.name}_events")
    lock: list[sql.SQL | sql.Composed] = [
        sql.SQL("SET LOCAL lock_timeout = '5s'"),
        sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table),
    ]
    insert = sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
    ).format(table)
    conn = psycopg.connect(conninfo)
    rows = BATCH_CHECKOUTS * ROWS_PER_CHECKOUT
    topics = ["bench.baselines:Checkout.Event"] * rows
    versions = [1] * rows
    state = os.urandom(state_bytes)
    states = [state] * rows

    def one(client: int, number: int) -> None:
        ids = [uuid.uuid4() for _ in range(rows)]
        with conn.pipeline(), conn.transaction():
            for statement in lock:
                conn.execute(statement, prepare=True)
            conn.execute(insert, (ids, versions, topics, states), prepare=True)

    return one, conn.close


def _postgres_client(conninfo: str) -> Any:
    conn = psycopg.connect(conninfo, autocommit=True)
    statement = f"INSERT INTO {SCRATCH_TABLE} (client, payload) VALUES (%s, %s)"

    def one(client: int, number: int) -> None:
        conn.execute(statement, (client, f"row {number}"), prepare=True)

    return one, conn.close


def _run(
    kind: str,
    database_url: str,
    concurrency: int,
    warmup: float,
    duration: float,
    state_bytes: int = DEFAULT_STATE_BYTES,
) -> dict[str, Any]:
    conninfo = libpq_url(database_url)
    closers = []
    if kind == BATCHED:
        BatchedApplication(env=event_store_env(database_url, pool_size=1)).close()
        clients = []
        for _ in range(concurrency):
            one, close = _batched_client(conninfo, state_bytes)
            clients.append(one)
            closers.append(close)
    elif kind == POSTGRES:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCRATCH_TABLE} (id bigserial PRIMARY KEY,"
                " client int NOT NULL, payload text NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
        clients = []
        for _ in range(concurrency):
            one, close = _postgres_client(conninfo)
            clients.append(one)
            closers.append(close)
    else:
        app = BaselineApplication(env=event_store_env(database_url, pool_size=concurrency))
        closers.append(app.close)

        def save(client: int, number: int) -> None:
            app.save(Ping(number))

        clients = [save] * concurrency

    started = time.time()
    begin, end = started + warmup, started + warmup + duration
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency

    def loop(client: int) -> None:
        number = 0
        call = clients[client]
        while time.time() < end:
            number += 1
            t0 = time.perf_counter()
            try:
                call(client, number)
            except Exception:
                failures[client] += 1
                continue
            elapsed = time.perf_counter() - t0
            if begin <= time.time() <= end:
                latencies[client].append(elapsed)

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(concurrency)]
    me = psutil.Process()
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, begin - time.time()))
    cpu_begin, wall_begin = sum(me.cpu_times()[:2]), time.time()
    time.sleep(max(0.0, end - time.time()))
    cpu_end, wall_end = sum(me.cpu_times()[:2]), time.time()
    for thread in threads:
        thread.join(timeout=60)
    for close in closers:
        close()
    done = [s for per_client in latencies for s in per_client]
    result = {
        "kind": kind,
        "concurrency": concurrency,
        "warmup_s": warmup,
        "duration_s": duration,
        "transactions": len(done),
        "per_s": rate(len(done), duration),
        "latency_ms": summarise_ms(done),
        "failures": sum(failures),
        "client_cpu": cpu_share(cpu_end - cpu_begin, wall_end - wall_begin, os.cpu_count() or 1),
    }
    if kind == BATCHED:
        result.update(
            {
                "checkouts_per_transaction": BATCH_CHECKOUTS,
                "rows_per_checkout": ROWS_PER_CHECKOUT,
                "state_bytes": state_bytes,
                "checkouts_per_s": rate(len(done) * BATCH_CHECKOUTS, duration),
            }
        )
    return result


def run_baseline(
    kind: str,
    database_url: str,
    concurrency: int,
    warmup: float,
    duration: float,
    state_bytes: int = DEFAULT_STATE_BYTES,
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(_run, kind, database_url, concurrency, warmup, duration, state_bytes)
        return future.result()


def mean_state_bytes(database_url: str, table: str) -> int | None:
    """The mean size of the stored events' state in `table` (None if it has none)."""
    from psycopg import sql

    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        row = conn.execute(
            sql.SQL("SELECT avg(octet_length(state)) FROM {}").format(sql.Identifier(table))
        ).fetchone()
    return round(float(row[0])) if row and row[0] is not None else None
