"""The benchmark harness's pure parts: percentiles, the results document, the table,
the profile summary. No timing assertions: nothing here measures anything."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import parse
from bench.cpu import MACHINE, OUTSIDE, PROCESSES, with_outside
from bench.loadgen import checkout_body, per_interval
from bench.probes import parse_rfc3339
from bench.profiling import OTHER, bucket_of, parse_collapsed, summarise
from bench.runner import Plan, provider_order_backlog
from bench.stack import role_of
from bench.stats import cpu_share, percentile, rate, summarise_ms


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [1.0, 2.0, 3.0, 4.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_ignores_input_order() -> None:
    values = [float(n) for n in range(1000)]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    assert percentile(shuffled, 90) == percentile(values, 90)


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_rejects_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


def test_percentile_needs_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_summary_is_in_milliseconds() -> None:
    summary = summarise_ms([0.001, 0.002, 0.003])
    assert summary is not None
    assert summary["p50"] == 2.0
    assert summary["max"] == 3.0
    assert summary["samples"] == 3
    assert summarise_ms([]) is None


def test_rate_and_cpu_share() -> None:
    assert rate(300, 60.0) == 5.0
    assert rate(5, 0) == 0.0
    share = cpu_share(cpu_seconds=30.0, wall_seconds=60.0, cores=2)
    assert share == {"of_machine": 0.25, "of_one_core": 0.5, "cpu_seconds": 30.0}


def test_cpu_outside_the_benchmark_is_what_is_left() -> None:
    shares = {
        "api": cpu_share(10.0, 20.0, 2),
        "postgres": cpu_share(6.0, 20.0, 2),
        PROCESSES: cpu_share(30.0, 20.0, 2),
        MACHINE: cpu_share(36.0, 20.0, 2),
    }
    with_outside(shares, also_ours=4.0)
    assert shares[OUTSIDE] == {"of_machine": 0.25, "of_one_core": 0.5, "cpu_seconds": 10.0}


def _summary(p50: float, p99: float) -> dict[str, float]:
    return {"p50": p50, "p90": p99, "p99": p99, "max": p99, "mean": p50, "samples": 10}


def _document(**overrides: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "generated_at": datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC),
        "conditions": {"quick": False, "concurrency": 8, "duration_s": 60},
        "checkout": {
            "throughput_per_s": 50.0,
            "latency_ms": _summary(100, 300),
            "concurrency": 8,
            "duration_s": 60,
        },
        "outbox": {"latency_ms": _summary(40, 90), "to_produce_ms": _summary(30, 80)},
        "projection_lag": _summary(20, 60),
        "rebuild": {"events": 200_000, "seconds": 10.0, "events_per_s": 20_000.0},
        "status_reads": {"latency_ms": _summary(10, 40), "throughput_per_s": 300.0},
        "postgres_baseline": {"per_s": 8000.0},
        "eventsourcing_baseline": {"per_s": 700.0},
        "machine": {"cores": 2, "memory_gib": 23.5},
        "profile": None,
        "audit_verify": {"events": 200_000, "seconds": 2.0, "events_per_s": 100_000.0},
    }
    arguments.update(overrides)
    return report.assemble(**arguments)  # type: ignore[arg-type]


def test_assembled_document_has_every_figure_of_the_issue() -> None:
    document = _document()
    assert report.missing_figures(document) == []
    assert document["checkout"]["latency_ms"]["p99"] == 300  # type: ignore[index]
    assert document["projection"]["rebuild_events_per_s"] == 20_000.0  # type: ignore[index]
    assert document["audit"]["verify_events_per_s"] == 100_000.0  # type: ignore[index]
    assert document["baselines"]["eventsourcing_saves_per_s"] == 700.0  # type: ignore[index]
    assert document["generated_at"] == "2026-11-21T12:00:00Z"
    json.dumps(document)  # serialisable as it is


def test_missing_or_non_positive_figures_are_named() -> None:
    document = _document(outbox={"latency_ms": None}, postgres_baseline={"per_s": 0.0})
    missing = report.missing_figures(document)
    assert "outbox.latency_ms.p50" in missing
    assert "outbox.latency_ms.p99" in missing
    assert "baselines.postgres_insert_commits_per_s" in missing
    assert "checkout.throughput_per_s" not in missing


def test_table_lists_each_figure_with_its_conditions() -> None:
    text = report.table(_document())
    lines = text.splitlines()
    assert lines[0].startswith("figure")
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert any("checkout latency" in line and "100.0 ms" in line for line in lines)
    assert any("projection rebuild" in line and "20,000.0 events/s" in line for line in lines)
    assert any("audit verify" in line and "100,000.0 events/s" in line for line in lines)
    assert any("8 clients" in line for line in lines)


def test_table_survives_missing_figures() -> None:
    text = report.table(_document(outbox={"latency_ms": None}))
    assert "n/a" in text


def test_write_keeps_latest_and_a_dated_copy(tmp_path: Path) -> None:
    document = _document()
    when = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    paths = report.write(document, tmp_path, when)
    assert [p.name for p in paths] == ["latest.json", "2026-11-21T12-00-00Z.json"]
    assert json.loads(paths[0].read_text()) == json.loads(paths[1].read_text())
    quick = _document(conditions={"quick": True})
    assert report.write(quick, tmp_path, when)[1].name == "2026-11-21T12-00-00Z-quick.json"


_LOOP = "thread (1): MainThread;run (uvicorn/server.py:1)"
_WORKER = "thread (2): AnyIO worker thread;Checkout.__call__ (application/checkout.py:91)"
_WAIT = "Connection.wait (psycopg/connection.py:495)"
COLLAPSED = [
    f"{_LOOP};EpollSelector.select (selectors.py:468) 60",
    f"{_LOOP};post_checkout (api/routes/checkout.py:43) 40",
    f"{_WORKER};Application.save (eventsourcing/application.py:772);{_WAIT} 50",
    f"{_WORKER};Checkout._products (application/checkout.py:140);"
    f"ConnectionPool._check_connection (psycopg_pool/pool.py:309);{_WAIT} 30",
    f"{_WORKER};price_cart (domain/pricing.py:50) 20",
    "thread (3): AnyIO worker thread;WorkerThread.run (anyio/_backends/_asyncio.py:1124);"
    "Condition.wait (threading.py:327) 500",
]


def test_profile_summary_splits_checkout_time_into_buckets() -> None:
    stacks = parse_collapsed(COLLAPSED)
    assert len(stacks) == 6
    summary = summarise(stacks)
    assert summary["checkout_worker_samples"] == 100
    shares = {b["what"]: b["share"] for b in summary["checkout_buckets"]}
    assert shares[OTHER] == 0.2
    assert sum(shares.values()) == pytest.approx(1.0)
    assert summary["checkout_in_postgres_driver_share"] == 0.8
    assert summary["event_loop_busy_share"] == 0.4
    assert summary["event_loop_busy_in"][0]["function"].startswith("post_checkout")


def test_pre_ping_wins_over_the_operation_that_checked_the_connection_out() -> None:
    frames = [
        "Application.save (eventsourcing/application.py:772)",
        "ConnectionPool._check_connection (psycopg_pool/pool.py:309)",
    ]
    assert bucket_of(frames).startswith("pool pre-ping")


def test_parse_collapsed_skips_junk() -> None:
    assert parse_collapsed(["", "no count here", "a;b 3"]) == [(["a", "b"], 3)]


def test_checkout_bodies_are_valid_carts() -> None:
    rng = random.Random(3)
    skus = tuple(f"S{n}" for n in range(10))
    for _ in range(100):
        body = checkout_body(rng, skus, "stripe")
        picked = [item["sku"] for item in body["items"]]
        assert 1 <= len(picked) <= 3
        assert len(set(picked)) == len(picked)
        assert all(1 <= item["quantity"] <= 2 for item in body["items"])
        assert body["provider"] == "stripe"


def test_throughput_per_interval_slices_the_window() -> None:
    finished = [100.5, 101.0, 109.9, 110.0, 125.0, 129.99]
    assert per_interval(finished, begin=100.0, duration=30.0, step=10.0) == [0.3, 0.1, 0.2]
    # Completions a hair outside the window land in the first or last slice.
    assert per_interval([99.99, 130.0], begin=100.0, duration=30.0, step=10.0) == [0.1, 0.0, 0.1]


def test_ce_time_parses_as_utc() -> None:
    moment = datetime(2026, 11, 21, 12, 0, 0, 250000, tzinfo=UTC)
    assert parse_rfc3339("2026-11-21T12:00:00.250000Z") == moment.timestamp()


def test_plans_meet_the_issue_conditions() -> None:
    full = Plan.make(quick=False, concurrency=8)
    quick = Plan.make(quick=True, concurrency=8)
    assert full.checkout_s >= 30
    assert full.rebuild_events >= 200_000
    assert quick.checkout_s < full.checkout_s
    assert quick.rebuild_events < full.rebuild_events


def test_provider_order_backlog_from_two_counts() -> None:
    backlog = provider_order_backlog([(100.0, 10, 100), (110.0, 60, 400)])
    assert backlog["provider_orders_per_s"] == 25.0  # (340 - 90) created in 10 s
    assert backlog["payments_per_s"] == 30.0
    assert backlog["payments_processing_at_end"] == 60


def test_command_line() -> None:
    assert parse(["--quick"]).quick is True
    assert parse([]).concurrency == 8
    with pytest.raises(SystemExit):
        parse(["--concurrency", "0"])


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/venv/bin/python", "-m", "entrypoints.cli", "api"], "api"),
        (["/venv/bin/python", "-m", "entrypoints.cli", "worker"], "worker"),
        (["/venv/bin/python", "-m", "sandbox", "--port", "12111"], "sandbox"),
        (["/venv/bin/python", "-m", "entrypoints.cli", "run"], None),
        (["/venv/bin/python", "-m", "entrypoints.cli"], None),
        (["/venv/bin/python", "-m", "pytest", "api"], None),
        (["/venv/bin/checkout-engine", "api"], None),
        (["/venv/bin/python", "-m"], None),
    ],
)
def test_the_stack_knows_each_role_by_its_command_line(argv: list[str], role: str | None) -> None:
    assert role_of(argv) == role
