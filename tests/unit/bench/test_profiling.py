"""The profile summary (bench/profiling.py) on small synthetic py-spy raw output: which
bucket each stack lands in, shares that add up, the on-CPU recording, CPU per checkout,
and the report's profile block. Nothing here measures anything."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from bench import report
from bench.profiling import (
    LOOP,
    SAVE_ROUND_TRIPS,
    WRITER,
    CpuTimes,
    ThreadTimes,
    cpu_times,
    headline,
    parse_collapsed,
    summarise,
    thread_of,
)

_LOOP = (
    "thread (100): MainThread;run (uvicorn/main.py:632);"
    "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
)
_REQUEST = (
    f"{_LOOP};RequestResponseCycle.run_asgi (uvicorn/protocols/http/h11_impl.py:411);"
    "MetricsMiddleware.__call__ (api/middleware.py:74);Route.handle (starlette/routing.py:289)"
)
_CHECKOUT = f"{_REQUEST};post_checkout (api/routes/checkout.py:36)"
_RUN = (
    "thread (200): checkout-writer;Thread.run (threading.py:975);"
    "CheckoutWriter._run (application/group_commit.py:239);"
    "CheckoutWriter.commit (application/group_commit.py:249)"
)
_BATCH = f"{_RUN};CheckoutWriter._decide_and_save (application/group_commit.py:313)"
_SAVE = f"{_BATCH};Application.save (eventsourcing/application.py:772)"
_WAIT = "Connection.wait (psycopg/connection.py:495)"

# Event loop: 100 samples; writer: 100 samples; one idle pool thread.
WALL = [
    f"{_LOOP.rsplit(';', 1)[0]};EpollSelector.select (selectors.py:468) 50",
    # JWT inside the route, inside the middleware: the innermost layer wins.
    f"{_CHECKOUT};authenticate_write (api/rate_limits.py:78);"
    "PyJWS._verify_signature (jwt/api_jws.py:436) 10",
    f"{_CHECKOUT};parse_body (api/validation.py:40);"
    "BaseModel.model_validate_json (pydantic/main.py:600) 5",
    # Writing the response on the socket is HTTP, though Response.__call__ is above it.
    f"{_REQUEST};Response.__call__ (starlette/responses.py:171);"
    "observing_send (api/middleware.py:71);RequestResponseCycle.send "
    "(uvicorn/protocols/http/h11_impl.py:490);_SelectorSocketTransport.write "
    "(asyncio/selector_events.py:1057) 12",
    f"{_CHECKOUT};json_response (api/representations.py:20);dumps (json/__init__.py:231) 8",
    f"{_REQUEST};MetricWrapperBase.labels (prometheus_client/metrics.py:180) 5",
    f"{_CHECKOUT};CheckoutWriter.submit (application/group_commit.py:205) 3",
    # A webhook is not a checkout, whatever it calls.
    f"{_REQUEST};stripe_webhook (api/routes/webhooks.py:66);"
    "run_in_threadpool (starlette/concurrency.py:34);Queue.put (queue.py:152) 4",
    f"{_LOOP} 3",  # the loop's own scheduling
    # Writer.
    f"{_RUN.rsplit(';', 1)[0]} 10",  # blocked in SimpleQueue.get: idle
    f"{_RUN.rsplit(';', 1)[0]};CheckoutWriter.commit (application/group_commit.py:248);"
    "_GeneratorContextManager.__enter__ (contextlib.py:137);"
    f"PostgresEventTail.turn (infrastructure/event_tail.py:76);{_WAIT} 15",
    f"{_BATCH.replace(':313', ':279')};_Aggregates.refresh (application/group_commit.py:109);"
    f"PostgresEventTail.since (infrastructure/event_tail.py:58);{_WAIT} 6",
    f"{_BATCH.replace(':313', ':279')};_Aggregates.refresh (application/group_commit.py:112);"
    "_mutate (application/group_commit.py:340) 2",
    f"{_BATCH.replace(':313', ':281')};CheckoutWriter._placed_earlier "
    f"(application/group_commit.py:330);PostgresEventTail.first_events "
    f"(infrastructure/event_tail.py:66);{_WAIT} 3",
    f"{_BATCH.replace(':313', ':298')};decide (application/checkout.py:109);"
    "price_cart (domain/pricing.py:50) 2",
    f"{_BATCH.replace(':313', ':298')};decide (application/checkout.py:121);"
    "Payment.initiate (domain/payment.py:408) 3",
    f"{_BATCH.replace(':313', ':298')};decide (application/checkout.py:122);"
    "reserve_all (domain/stock.py:200) 1",
    f"{_SAVE};Application._record (eventsourcing/application.py:782);"
    "EventStore.put (eventsourcing/persistence.py:748);"
    "Mapper.to_stored_event (eventsourcing/persistence.py:392) 4",
    f"{_SAVE};Application._record (eventsourcing/application.py:782);"
    "EventStore.put (eventsourcing/persistence.py:750);"
    "PostgresApplicationRecorder.insert_events (eventsourcing/postgres.py:663);"
    f"Pipeline.sync (psycopg/_pipeline.py:56);{_WAIT} 40",
    # A snapshot is saved through insert_events too, but is counted as a snapshot.
    f"{_SAVE.replace(':772', ':773')};Application.take_snapshot (eventsourcing/application.py:857);"
    "EventStore.put (eventsourcing/persistence.py:750);"
    f"PostgresAggregateRecorder.insert_events (eventsourcing/postgres.py:463);{_WAIT} 8",
    f"{_RUN.replace(':249', ':269')};_settle (application/group_commit.py:379) 2",
    # py-spy read the stack mid-change: no CheckoutWriter._run under it.
    f"thread (200): checkout-writer;Pipeline.__enter__ (psycopg/_pipeline.py:62);{_WAIT} 4",
    "thread (300): pool-1-worker-0;Thread.run (threading.py:975);"
    "Queue.get (queue.py:171);Condition.wait (threading.py:327) 100",
]
# The same threads, in state R only (running or runnable): what is not blocked.
ON_CPU = [
    f"{_CHECKOUT};authenticate_write (api/rate_limits.py:78);"
    "PyJWS._verify_signature (jwt/api_jws.py:436) 10",
    f"{_CHECKOUT};json_response (api/representations.py:20);dumps (json/__init__.py:231) 6",
    f"{_REQUEST};Response.__call__ (starlette/responses.py:171);"
    "RequestResponseCycle.send (uvicorn/protocols/http/h11_impl.py:490) 4",
    f"{_BATCH.replace(':313', ':298')};decide (application/checkout.py:121);"
    "Payment.initiate (domain/payment.py:408) 3",
    f"{_SAVE};Application._record (eventsourcing/application.py:782);"
    "EventStore.put (eventsourcing/persistence.py:750);"
    "PostgresApplicationRecorder.insert_events (eventsourcing/postgres.py:663);"
    f"Pipeline.sync (psycopg/_pipeline.py:56);{_WAIT} 5",
]


def _buckets(thread: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["what"]: b for b in thread["buckets"]}


def _summary() -> dict[str, Any]:
    before = CpuTimes(
        0.0,
        process_s=10.0,
        threads={100: ThreadTimes(1.0, 4.0), 200: ThreadTimes(2.0, 1.0), 300: ThreadTimes(0.5)},
    )
    after = CpuTimes(
        2.0,
        process_s=13.0,
        threads={100: ThreadTimes(1.8, 4.5), 200: ThreadTimes(3.5, 2.0), 300: ThreadTimes(0.5)},
    )
    return summarise(
        parse_collapsed(WALL),
        parse_collapsed(ON_CPU),
        window_s=2.0,
        checkouts=100,
        cpu_before=before,
        cpu_after=after,
    )


def test_the_thread_frame_gives_its_id_and_name() -> None:
    assert thread_of(["thread (30697): checkout-writer", "f (a.py:1)"]) == (
        30697,
        "checkout-writer",
    )
    assert thread_of(["thread (7)"]) == (7, "")
    assert thread_of(["run (uvicorn/main.py:632)"]) == (None, "")


def test_parse_collapsed_skips_junk() -> None:
    assert parse_collapsed(["", "no count here", " 4", "a;b 3\n"]) == [(["a", "b"], 3)]
    assert len(parse_collapsed(WALL)) == len(WALL)


def test_each_threads_shares_add_up_to_its_wall_time() -> None:
    summary = _summary()
    assert summary["ticks"] == 100
    for key in ("event_loop", "checkout_writer"):
        thread = summary["threads"][key]
        assert thread["samples"] == 100
        assert sum(b["share"] for b in thread["buckets"]) == pytest.approx(1.0)
        assert sum(b["ms_per_checkout"] for b in thread["buckets"]) == pytest.approx(20.0)


def test_the_event_loop_is_split_by_its_innermost_layer() -> None:
    loop = _summary()["threads"]["event_loop"]
    shares = {what: b["share"] for what, b in _buckets(loop).items()}
    assert loop["thread"] == "MainThread"
    assert loop["busy_share"] == 0.5
    assert shares[LOOP.idle.what] == 0.5
    assert shares["auth: JWT, customer check, rate limits"] == 0.10
    assert shares["request body and validation (pydantic)"] == 0.05
    assert shares["HTTP protocol: httptools or h11, socket reads and writes"] == 0.12
    assert shares["response rendering (model, JSON, headers)"] == 0.08
    assert shares["middleware, routing, metrics, logging"] == 0.05
    assert shares["hand-off to the writer (submit, the future's callbacks)"] == 0.03
    assert shares["other endpoints (webhooks, reads)"] == 0.04
    assert shares["event loop scheduling (asyncio, anyio)"] == 0.03


def test_under_uvloop_a_sample_in_the_runner_itself_is_the_loops_wait() -> None:
    """uvloop's loop is C: its wait shows as the runner's frame with nothing below it."""
    runner = (
        "thread (100): MainThread;run (uvicorn/main.py:632);"
        "asyncio_run (uvicorn/_compat.py:60);Runner.run (asyncio/runners.py:118)"
    )
    parsing = (
        f"{runner};HttpToolsProtocol.data_received (uvicorn/protocols/http/httptools_impl.py:130)"
    )

    [(idle, _), (busy, _)] = parse_collapsed([f"{runner} 1", f"{parsing} 1"])
    assert LOOP.bucket_of(idle) == LOOP.idle.what
    assert LOOP.bucket_of(busy) == "HTTP protocol: httptools or h11, socket reads and writes"


def test_the_writer_is_split_by_the_step_of_the_batch() -> None:
    writer = _summary()["threads"]["checkout_writer"]
    buckets = _buckets(writer)
    shares = {what: b["share"] for what, b in buckets.items()}
    assert writer["busy_share"] == 0.9
    assert shares[WRITER.idle.what] == 0.10
    assert shares["turn: the writers' advisory lock, taken and released"] == 0.15
    assert shares["refresh: the query for other writers' events"] == 0.06
    assert shares["refresh: applying events, cache upkeep"] == 0.02
    assert shares["idempotency look-up"] == 0.03
    assert shares["decide: pricing"] == 0.02
    assert shares["decide: Payment.initiate"] == 0.03
    assert shares["decide: reserving stock"] == 0.01
    assert shares["save: encoding events (JSON)"] == 0.04
    assert shares[SAVE_ROUND_TRIPS] == 0.40
    assert shares["save: snapshots (reload the aggregate, insert the snapshot)"] == 0.08
    assert shares["settling futures (waking the event loop)"] == 0.02
    assert shares[WRITER.partial] == 0.04
    assert buckets[SAVE_ROUND_TRIPS]["in_postgres_driver_share"] == 0.40
    assert buckets[SAVE_ROUND_TRIPS]["ms_per_checkout"] == pytest.approx(8.0)  # 40% of 2 s / 100
    assert next(iter(buckets)) == SAVE_ROUND_TRIPS  # biggest first


def test_runnable_shares_are_of_the_same_wall_time() -> None:
    threads = _summary()["threads"]
    loop = threads["event_loop"]
    writer = threads["checkout_writer"]
    assert loop["runnable_share"] == 0.20
    assert _buckets(loop)["auth: JWT, customer check, rate limits"]["runnable_share"] == 0.10
    assert _buckets(loop)[LOOP.idle.what]["runnable_share"] == 0.0
    assert writer["runnable_share"] == 0.08
    assert _buckets(writer)[SAVE_ROUND_TRIPS]["runnable_share"] == 0.05  # the rest is waiting


def test_cpu_and_run_queue_per_checkout_come_from_each_threads_schedstat() -> None:
    summary = _summary()
    loop, writer = summary["threads"]["event_loop"], summary["threads"]["checkout_writer"]
    assert loop["cpu_ms_per_checkout"] == pytest.approx(8.0)  # 0.8 s over 100 checkouts
    assert loop["run_queue_ms_per_checkout"] == pytest.approx(5.0)
    assert loop["cpu_share_of_window"] == pytest.approx(0.4)  # 0.8 s of a 2 s window
    assert writer["cpu_ms_per_checkout"] == pytest.approx(15.0)
    assert writer["run_queue_share_of_window"] == pytest.approx(0.5)
    assert summary["process_cpu_ms_per_checkout"] == pytest.approx(30.0)
    # A thread known only from stat (no schedstat) has CPU time and no queue time.
    assert summary["other_threads"] == [
        {
            "thread": "pool-1-worker-0",
            "threads": 1,
            "samples": 100,
            "runnable_share_of_one_thread": 0.0,
            "cpu_ms": 0.0,
        }
    ]


def test_without_the_runnable_recording_or_proc_those_figures_are_none() -> None:
    summary = summarise(parse_collapsed(WALL))
    loop = summary["threads"]["event_loop"]
    assert loop["runnable_share"] is None
    assert loop["cpu_ms_per_checkout"] is None
    assert all(
        b["runnable_share"] is None and b["ms_per_checkout"] is None for b in loop["buckets"]
    )
    assert summarise([])["threads"]["checkout_writer"]["samples"] == 0


def test_cpu_times_reads_this_process_and_its_threads() -> None:
    found = cpu_times(os.getpid())
    assert found is not None
    assert found.process_s > 0
    mine = found.threads[threading.get_native_id()]
    assert mine.cpu_s > 0
    assert mine.queued_s is not None
    assert cpu_times(-1) is None


def test_the_headline_names_each_threads_biggest_buckets() -> None:
    writer, loop = headline(_summary())
    assert writer.startswith(
        "writer busy 90%, 15.00 ms on CPU + 10.00 ms on the run queue per checkout; "
        + SAVE_ROUND_TRIPS
    )
    assert "idle" not in writer
    assert loop.startswith("event loop busy 50%")
    assert headline({})[0] == "writer: no samples"


def test_the_report_prints_the_profile_block() -> None:
    document = {"profile": {**_summary(), "concurrency": 8}}
    block = report.profile_table(document)
    lines = block.splitlines()
    assert lines[0].split() == ["profile", "share", "runnable", "ms/checkout"]
    writer = next(line for line in lines if line.startswith("writer"))
    assert "per checkout 15 ms on CPU, 10 ms on the run queue" in writer
    assert writer.split()[-3:] == ["90.0%", "8.0%", "18"]
    save = next(line for line in lines if SAVE_ROUND_TRIPS in line)
    assert save.split()[-3:] == ["40.0%", "5.0%", "8"]
    assert lines[-1].startswith("100 checkouts in 2.0 s, 8 clients; API process 30 ms CPU")
    assert report.profile_table({"profile": None}) == ""
