"""The benchmark harness's pure parts: percentiles, the results document, the table.
No timing assertions: nothing here measures anything. The profile summary is in
test_profiling.py."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import parse
from bench.counters import BACKGROUND, Snapshot, category_of, per_checkout
from bench.cpu import MACHINE, OUTSIDE, PROCESSES, merge_samples, ms_per_checkout, with_outside
from bench.loadgen import checkout_body, per_interval
from bench.probes import parse_rfc3339
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


def _phase(clients: int, rate: float, processing: int, p99: float) -> dict[str, object]:
    return {
        "clients": clients,
        "result": {
            "throughput_per_s": rate,
            "latency_ms": _summary(100, p99),
            "concurrency": clients,
            "duration_s": 60,
            "backlog": {
                "provider_orders_per_s": 25.0,
                "payments_per_s": 50.0,
                "payments_processing_at_end": processing,
            },
        },
        "lag": _summary(20, 60),
        "outbox": {"latency_ms": _summary(40, 90)},
        "cpu_ms_per_checkout": {"engine_total": 30.0},
        "database": {"statements_per_checkout": 40.0},
    }


def _cpu() -> dict[str, object]:
    shares = {
        "api": cpu_share(12.0, 60.0, 2),
        "projector": cpu_share(9.0, 60.0, 2),
        "relay": cpu_share(3.0, 60.0, 2),
        "worker": cpu_share(6.0, 60.0, 2),
        "sandbox": cpu_share(1.5, 60.0, 2),
        "broker": cpu_share(0.6, 60.0, 2),
    }
    postgres = {"api": 3.0, "projector": 2.4, "worker": 1.5, "background": 0.9, "bench": 0.3}
    result = ms_per_checkout(shares, postgres, 3000)
    assert result is not None
    return result


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
        "outbox": {
            "latency_ms": _summary(40, 90),
            "to_produce_ms": _summary(30, 80),
            "commit_to_broker_ms": _summary(20, 70),
        },
        "projection_lag": _summary(20, 60),
        "rebuild": {"events": 200_000, "seconds": 10.0, "events_per_s": 20_000.0},
        "status_reads": {"latency_ms": _summary(10, 40), "throughput_per_s": 300.0},
        "postgres_baseline": {"per_s": 8000.0},
        "eventsourcing_baseline": {"per_s": 700.0},
        "machine": {"cores": 2, "memory_gib": 23.5},
        "profile": None,
        "audit_verify": {"events": 200_000, "seconds": 2.0, "events_per_s": 100_000.0},
        "by_clients": {
            "8": report.clients_entry(_phase(8, 40.0, 120, 300)),
            "32": report.clients_entry(_phase(32, 50.0, 30, 900)),
        },
        "cpu_ms_per_checkout": _cpu(),
        "database": {
            "checkouts": 3000,
            "statements_per_checkout": 41.5,
            "transactions_per_checkout": 29.0,
            "wal_fsyncs_per_checkout": 5.0,
        },
        "batched_baseline": {"per_s": 360.0, "checkouts_per_s": 5760.0},
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


def test_the_issue_14_figures_are_in_the_document() -> None:
    document = _document()
    checkout = document["checkout"]
    assert isinstance(checkout, dict)
    assert set(checkout["by_clients"]) == {"8", "32"}
    for entry in checkout["by_clients"].values():
        assert {"throughput_per_s", "latency_ms", "backlog"} <= set(entry)
        assert {"payments_processing_at_end", "provider_orders_per_s", "payments_per_s"} <= set(
            entry["backlog"]
        )
    cpu = document["cpu_ms_per_checkout"]
    assert isinstance(cpu, dict)
    assert {"api", "projector", "relay", "worker", "postgres", "sandbox", "engine_total"} <= set(
        cpu
    )
    assert {"api", "projector", "relay", "worker"} <= set(cpu["postgres"])
    assert "measured_as" in cpu
    assert document["statements_per_checkout"] == 41.5
    assert document["transactions_per_checkout"] == 29.0
    assert document["wal_fsyncs_per_checkout"] == 5.0
    assert document["baselines"]["batched_insert_checkouts_per_s"] == 5760.0  # type: ignore[index]


def test_cpu_per_checkout_adds_each_role_and_its_backends() -> None:
    cpu = _cpu()
    # 3,000 checkouts: 12 s of api CPU is 4 ms each, its 3 s of backends 1 ms.
    assert cpu["api"] == 4.0
    assert cpu["postgres"]["api"] == 1.0  # type: ignore[index]
    assert cpu["postgres"]["relay"] == 0.0  # type: ignore[index]
    assert cpu["sandbox"] == 0.5
    # (12 + 9 + 3 + 6) s of roles and (3 + 2.4 + 1.5) s of their backends.
    assert cpu["engine_total"] == pytest.approx(12.3)
    assert cpu["engine_total_with_postgres_background"] == pytest.approx(12.6)
    assert ms_per_checkout({}, {}, 0) is None


def test_targets_are_computed_from_the_document() -> None:
    rows = {row["target"]: row for row in report.targets(_document())}
    at_32 = rows["checkouts/s at 32 clients >= 0.5x eventsourcing saves/s"]
    assert at_32["value"] == 50.0
    assert at_32["limit"] == 350.0  # 0.5 x 700 saves/s
    assert at_32["met"] is False
    backlog = rows["payments processing at the end <= 1 s of arrivals (32 clients)"]
    assert (backlog["value"], backlog["limit"], backlog["met"]) == (30.0, 50.0, True)
    assert rows["projection lag p99 <= 100 ms"]["met"] is True  # 60 ms
    assert rows["statements per checkout <= 4"]["met"] is False
    assert rows["rebuild >= 60,000 events/s"]["met"] is False
    faster = _document(eventsourcing_baseline={"per_s": 80.0})
    met = {row["target"]: row["met"] for row in report.targets(faster)}
    assert met["checkouts/s at 32 clients >= 0.5x eventsourcing saves/s"] is True
    lacking = _document(database={})
    assert {row["target"]: row["met"] for row in report.targets(lacking)}[
        "statements per checkout <= 4"
    ] is None


def test_the_table_shows_the_targets_block() -> None:
    text = report.table(_document())
    block = text.split("issue 14 targets", 1)[1].splitlines()
    assert any("CPU per checkout" in line and "not met" in line for line in block)
    assert any("projection lag p99" in line and line.rstrip().endswith(" met") for line in block)
    lacking = report.table(_document(database={}))
    assert "no figure" in lacking.split("issue 14 targets", 1)[1]


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
    assert any("checkout latency @8" in line and "100.0 ms" in line for line in lines)
    assert any("checkout throughput @32" in line and "50.0 /s" in line for line in lines)
    assert any("batched checkout INSERTs" in line and "5,760.0" in line for line in lines)
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
    assert full.checkout_clients == quick.checkout_clients == (8, 32)
    assert full.checkout_s >= 30
    assert full.rebuild_events >= 200_000
    assert quick.checkout_s < full.checkout_s
    assert quick.rebuild_events < full.rebuild_events


def test_provider_order_backlog_from_two_counts() -> None:
    backlog = provider_order_backlog([(100.0, 10, 100), (110.0, 60, 400)])
    assert backlog["provider_orders_per_s"] == 25.0  # (340 - 90) created in 10 s
    assert backlog["payments_per_s"] == 30.0
    assert backlog["payments_processing_at_end"] == 60
    assert backlog["worker_rate_vs_arrivals"] == pytest.approx(0.833)
    assert backlog["processing_at_end_s_of_arrivals"] == 2.0  # 60 waiting, 30 arriving a second


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


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("checkout-api", "api"),
        ("checkout-relay", "relay"),
        ("checkout-relay:relay-1a2b", "relay"),
        ("checkout-worker", "worker"),
        ("checkout-projector", "projector"),
        ("checkout-sandbox", "sandbox"),
        ("checkout-bench", "bench"),
        ("checkout-bench-counters", "bench"),
        ("", "other"),
        (None, "other"),
        ("psql", "other"),
        ("checkout-apiary", "other"),
    ],
)
def test_connections_are_attributed_by_application_name(name: str | None, category: str) -> None:
    assert category_of(name) == category


def test_a_backend_keeps_the_role_it_was_seen_serving() -> None:
    last: dict[int, tuple[str, float]] = {}
    merge_samples(last, {10: ("api", 1.0), 11: (BACKGROUND, 0.5), 12: (BACKGROUND, 0.1)})
    # 10 left pg_stat_activity before exiting; 12 finished its start-up as the worker's.
    merge_samples(last, {10: (BACKGROUND, 1.5), 12: ("worker", 0.3)})
    assert last == {10: ("api", 1.5), 11: (BACKGROUND, 0.5), 12: ("worker", 0.3)}


def _counts(**values: int) -> dict[str, int]:
    names = ("queries", "utility", "transaction_control", "commits", "write_commits", "rollbacks")
    return {name: values.get(name, 0) for name in names}


def test_statements_and_transactions_per_checkout_are_the_engine_roles() -> None:
    wal = {"wal_sync": 100.0, "wal_write": 120.0, "wal_records": 5000.0, "wal_bytes": 1e6}
    before = Snapshot(
        0.0,
        {"checkout-api": _counts(queries=50, commits=10)},
        {"wal_sync": 40.0, "wal_write": 50.0, "wal_records": 1000.0, "wal_bytes": 2e5},
        {"xact_commit": 10, "xact_rollback": 0},
    )
    after = Snapshot(
        10.0,
        {
            "checkout-api": _counts(queries=250, transaction_control=100, commits=60),
            "checkout-relay:lease": _counts(queries=20, utility=10, commits=10),
            "checkout-worker": _counts(queries=30, commits=20, rollbacks=5),
            "checkout-bench-counters": _counts(queries=999, commits=999),
            "": _counts(utility=7, commits=7),
        },
        wal,
        {"xact_commit": 1200, "xact_rollback": 5},
    )
    figures = per_checkout(before, after, checkouts=20)
    # api 200 + 100, relay 30, worker 30 statements; the bench's and unnamed ones apart.
    assert figures["statements_per_checkout"] == 18.0
    assert figures["statements"]["by_role_per_checkout"]["api"] == 15.0
    assert figures["statements"]["by_kind_per_checkout"]["transaction_control"] == 5.0
    assert figures["statements"]["not_engine"] == {"bench": 999, "other": 7}
    # api 50, relay 10, worker 20 + 5 rolled back.
    assert figures["transactions_per_checkout"] == 4.25
    assert figures["transactions"]["rollbacks"] == 5
    assert figures["wal_fsyncs_per_checkout"] == 3.0
    assert figures["wal"]["bytes_per_checkout"] == 40000.0
    assert figures["database_transactions_all_clients"] == 1195
    assert figures["window_s"] == 10.0


def test_without_the_counter_there_are_no_statement_figures() -> None:
    before = Snapshot(0.0, None, {"wal_sync": 1.0}, {})
    after = Snapshot(1.0, None, {"wal_sync": 11.0}, {})
    figures = per_checkout(before, after, checkouts=5)
    assert figures["statements_per_checkout"] is None
    assert figures["transactions_per_checkout"] is None
    assert figures["wal_fsyncs_per_checkout"] == 2.0


def test_each_role_child_names_its_postgres_connections(tmp_path: Path) -> None:
    import sys

    from entrypoints.supervisor import Role

    seen = tmp_path / "appname"
    code = f"import os, pathlib; pathlib.Path({str(seen)!r}).write_text(os.environ['PGAPPNAME'])"
    role = Role("worker", [sys.executable, "-c", code])
    role.start({"PGAPPNAME": "something-else"})
    assert role.process is not None
    assert role.process.wait(timeout=30) == 0
    assert seen.read_text() == "checkout-worker"


def test_the_outbox_target_is_read_from_the_confirming_commit() -> None:
    """event -> broker (outbox.latency_ms) includes the API's confirming transaction; the
    target is the outbox's part, from that commit to the broker."""
    slow_api = _document(
        outbox={"latency_ms": _summary(60, 180), "commit_to_broker_ms": _summary(10, 40)}
    )
    slow_relay = _document(
        outbox={"latency_ms": _summary(60, 180), "commit_to_broker_ms": _summary(50, 140)}
    )

    def outbox_met(document: dict[str, object]) -> bool | None:
        [row] = [t for t in report.targets(document) if t["target"].startswith("outbox")]
        assert row["figure"] == "outbox.commit_to_broker_ms.p99"
        met: bool | None = row["met"]
        return met

    assert outbox_met(slow_api) is True
    assert outbox_met(slow_relay) is False
    table = report.table(slow_api)
    assert "outbox event -> broker" in table
    assert "outbox commit -> broker" in table
