"""The results document (bench/results/*.json) and the printed table. Pure but for `write`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Every figure the issue asks for; each must be a positive number in a complete run.
REQUIRED_FIGURES = (
    "checkout.throughput_per_s",
    "checkout.latency_ms.p50",
    "checkout.latency_ms.p99",
    "outbox.latency_ms.p50",
    "outbox.latency_ms.p99",
    "projection.lag_ms.p50",
    "projection.lag_ms.p99",
    "projection.rebuild_events_per_s",
    "audit.verify_events_per_s",
    "status_reads.latency_ms.p50",
    "status_reads.latency_ms.p99",
    "status_reads.throughput_per_s",
    "baselines.postgres_insert_commits_per_s",
    "baselines.eventsourcing_saves_per_s",
    "baselines.batched_insert_checkouts_per_s",
    "machine.cores",
    "machine.memory_gib",
    # issue 14
    *(
        f"checkout.by_clients.{clients}.{figure}"
        for clients in ("8", "32")
        for figure in (
            "throughput_per_s",
            "latency_ms.p50",
            "latency_ms.p99",
            "backlog.provider_orders_per_s",
            "backlog.payments_per_s",
        )
    ),
    "cpu_ms_per_checkout.engine_total",
    "statements_per_checkout",
    "transactions_per_checkout",
    "wal_fsyncs_per_checkout",
)

# The done-when of issue 14: (label, figure, comparison, target); a target given as a
# (factor, figure) pair is that multiple of another figure of the same document.
TARGETS: tuple[tuple[str, str, str, float | tuple[float, str]], ...] = (
    (
        "checkouts/s at 32 clients >= 0.5x eventsourcing saves/s",
        "checkout.by_clients.32.throughput_per_s",
        ">=",
        (0.5, "baselines.eventsourcing_saves_per_s"),
    ),
    (
        "checkouts/s at 8 clients >= 0.3x eventsourcing saves/s",
        "checkout.by_clients.8.throughput_per_s",
        ">=",
        (0.3, "baselines.eventsourcing_saves_per_s"),
    ),
    (
        "payments processing at the end <= 1 s of arrivals (32 clients)",
        "checkout.by_clients.32.backlog.payments_processing_at_end",
        "<=",
        (1.0, "checkout.by_clients.32.backlog.payments_per_s"),
    ),
    (
        "payments processing at the end <= 1 s of arrivals (8 clients)",
        "checkout.by_clients.8.backlog.payments_processing_at_end",
        "<=",
        (1.0, "checkout.by_clients.8.backlog.payments_per_s"),
    ),
    ("projection lag p99 <= 100 ms", "projection.lag_ms.p99", "<=", 100.0),
    # From the confirming commit, as the target says; event -> broker, which adds the
    # confirming transaction in the API, is outbox.latency_ms (the table shows both).
    ("outbox commit -> broker p99 <= 100 ms", "outbox.commit_to_broker_ms.p99", "<=", 100.0),
    ("CPU per checkout, engine roles <= 4 ms", "cpu_ms_per_checkout.engine_total", "<=", 4.0),
    ("statements per checkout <= 4", "statements_per_checkout", "<=", 4.0),
    ("rebuild >= 60,000 events/s", "projection.rebuild_events_per_s", ">=", 60_000.0),
)


def lookup(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def targets(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each issue-14 target with the document's figure and whether it is met (None: a
    figure is missing)."""
    rows = []
    for label, path, comparison, target in TARGETS:
        value = _number(lookup(document, path))
        if isinstance(target, tuple):
            factor, other = target
            base = _number(lookup(document, other))
            limit = factor * base if base is not None else None
        else:
            limit = float(target)
        met: bool | None = None
        if value is not None and limit is not None:
            met = value >= limit if comparison == ">=" else value <= limit
        rows.append({"target": label, "figure": path, "value": value, "limit": limit, "met": met})
    return rows


def missing_figures(document: Mapping[str, Any]) -> list[str]:
    """Required figures that are absent, not numbers, or not positive."""
    missing = []
    for path in REQUIRED_FIGURES:
        value = lookup(document, path)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            missing.append(path)
    return missing


def _p50_p99(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The contract's {p50, p99} plus whatever else the summary carries."""
    if not summary:
        return None
    return dict(summary)


def clients_entry(phase: Mapping[str, Any]) -> dict[str, Any]:
    """`checkout.by_clients.<n>`: one checkout load's figures (a phase of bench.runner)."""
    result = phase.get("result") or {}
    database = phase.get("database") or {}
    return {
        "throughput_per_s": result.get("throughput_per_s"),
        "latency_ms": _p50_p99(result.get("latency_ms")),
        "backlog": result.get("backlog"),
        "concurrency": result.get("concurrency"),
        "duration_s": result.get("duration_s"),
        "warmup_s": result.get("warmup_s"),
        "completed": result.get("completed"),
        "errors": result.get("errors", {}),
        "throughput_by_interval": result.get("throughput_by_interval"),
        "cpu_ms_per_checkout": phase.get("cpu_ms_per_checkout"),
        "statements_per_checkout": database.get("statements_per_checkout"),
        "statements_by_role_per_checkout": (database.get("statements") or {}).get(
            "by_role_per_checkout"
        ),
        "transactions_per_checkout": database.get("transactions_per_checkout"),
        "wal_fsyncs_per_checkout": database.get("wal_fsyncs_per_checkout"),
        "projection_lag_ms": _p50_p99(phase.get("lag")),
        "outbox_latency_ms": _p50_p99((phase.get("outbox") or {}).get("latency_ms")),
    }


CPU_MEASURED_AS = (
    "user + system CPU time (psutil) over the measured window, divided by the checkouts "
    "answered 201 in it (the load generator's and the probes'). Each role is its process "
    "(and any children); postgres.<role> is the PostgreSQL backends whose application_name "
    "names that role (checkout-<role>, checkout-relay:<lease>), read from pg_stat_activity "
    "with each backend's CPU every 0.5 s: a backend born during the window counts whole, one "
    "that exited is credited up to the last sample that saw it (postgres_cpu_by_role.exited "
    "says how many). postgres.background: the server's own processes (postmaster, WAL "
    "writer, checkpointer, autovacuum); postgres.bench: the bench's probes and samplers. "
    "engine_total: api + projector + relay + worker and their backends; the sandbox, the "
    "broker and the bench are apart. The probes' orders are also paid (webhooks, "
    "confirmation), the load's are not."
)
DATABASE_MEASURED_AS = (
    "statements and transactions: bench/pg_counters.c, preloaded into the embedded server "
    "(pgserver has no pg_stat_statements): top-level statements as pg_stat_statements counts "
    "calls with track=top and track_utility=on (queries, utility statements such as LOCK "
    "and NOTIFY, and transaction control BEGIN/COMMIT/ROLLBACK), and top-level transactions "
    "as pg_stat_database counts them (without each connection's start-up transaction), of "
    "client backends whose application_name names an engine role; the bench's and other "
    "clients' are in not_engine. Counted as they happen, deltas over the measured window. "
    "WAL: pg_stat_wal deltas over the same window, server-wide (wal_sync: fsyncs by backends "
    "at commit and by the WAL writer); backends flush these statistics at most once a "
    "second, so each end of the window may miss up to a second of them. Per checkout: "
    "divided by the checkouts answered 201 in the window (load generator and probes)."
)


def assemble(
    *,
    generated_at: datetime,
    conditions: Mapping[str, Any],
    checkout: Mapping[str, Any],
    outbox: Mapping[str, Any],
    projection_lag: Mapping[str, Any] | None,
    rebuild: Mapping[str, Any] | None,
    status_reads: Mapping[str, Any],
    postgres_baseline: Mapping[str, Any],
    eventsourcing_baseline: Mapping[str, Any],
    machine: Mapping[str, Any],
    profile: Mapping[str, Any] | None,
    audit: Mapping[str, Any] | None = None,
    audit_verify: Mapping[str, Any] | None = None,
    by_clients: Mapping[str, Mapping[str, Any]] | None = None,
    cpu_ms_per_checkout: Mapping[str, Any] | None = None,
    database: Mapping[str, Any] | None = None,
    batched_baseline: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document: the issue's keys first, details beside them. The top-level
    checkout, outbox and projection figures are the largest client count's run."""
    database = database or {}
    cpu = dict(cpu_ms_per_checkout) if cpu_ms_per_checkout else None
    if cpu is not None:
        cpu["measured_as"] = CPU_MEASURED_AS
    return {
        "schema": SCHEMA_VERSION,
        "generated_at": generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "conditions": dict(conditions),
        "checkout": {
            "throughput_per_s": checkout.get("throughput_per_s"),
            "latency_ms": _p50_p99(checkout.get("latency_ms")),
            "concurrency": checkout.get("concurrency"),
            "duration_s": checkout.get("duration_s"),
            "warmup_s": checkout.get("warmup_s"),
            "completed": checkout.get("completed"),
            "throughput_by_interval": checkout.get("throughput_by_interval"),
            "interval_s": checkout.get("interval_s"),
            "errors": checkout.get("errors", {}),
            "backlog": checkout.get("backlog"),
            "load_generator_cpu": checkout.get("load_generator_cpu"),
            "cpu_by_process": checkout.get("cpu_by_process"),
            "postgres_cpu_by_role": checkout.get("postgres_cpu_by_role"),
            "by_clients": {k: dict(v) for k, v in (by_clients or {}).items()},
        },
        "cpu_ms_per_checkout": cpu,
        "statements_per_checkout": database.get("statements_per_checkout"),
        "transactions_per_checkout": database.get("transactions_per_checkout"),
        "wal_fsyncs_per_checkout": database.get("wal_fsyncs_per_checkout"),
        "database_per_checkout": (
            {**database, "measured_as": DATABASE_MEASURED_AS} if database else None
        ),
        "outbox": {
            "latency_ms": _p50_p99(outbox.get("latency_ms")),
            **{k: v for k, v in outbox.items() if k != "latency_ms"},
        },
        "projection": {
            "lag_ms": _p50_p99(projection_lag),
            "rebuild_events_per_s": (rebuild or {}).get("events_per_s"),
            "rebuild": dict(rebuild) if rebuild else None,
        },
        "status_reads": {
            "latency_ms": _p50_p99(status_reads.get("latency_ms")),
            "throughput_per_s": status_reads.get("throughput_per_s"),
            "concurrency": status_reads.get("concurrency"),
            "duration_s": status_reads.get("duration_s"),
            "warmup_s": status_reads.get("warmup_s"),
            "completed": status_reads.get("completed"),
            "errors": status_reads.get("errors", {}),
            "orders_polled": status_reads.get("orders_polled"),
            "load_generator_cpu": status_reads.get("load_generator_cpu"),
            "cpu_by_process": status_reads.get("cpu_by_process"),
        },
        "baselines": {
            "postgres_insert_commits_per_s": postgres_baseline.get("per_s"),
            "eventsourcing_saves_per_s": eventsourcing_baseline.get("per_s"),
            "batched_insert_checkouts_per_s": (batched_baseline or {}).get("checkouts_per_s"),
            "postgres_insert": dict(postgres_baseline),
            "eventsourcing_save": dict(eventsourcing_baseline),
            "batched_insert": dict(batched_baseline) if batched_baseline else None,
        },
        "machine": dict(machine),
        "profile": dict(profile) if profile else None,
        # audit.order_ms: `audit order ID --at T` on the topped-up log (bench.audit_order).
        "audit": _audit(audit, audit_verify),
    }


def _ms(summary: Any, key: str) -> str:
    if not isinstance(summary, Mapping) or summary.get(key) is None:
        return "n/a"
    return f"{summary[key]:.1f} ms"


def _num(value: Any, unit: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return f"{value:,.1f} {unit}"


def _audit(
    order: Mapping[str, Any] | None, verify: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The audit figures: `audit order` (bench.audit_order) and `audit verify`
    (bench.audit_verify: verify_events_per_s, the hash chain recomputed over the log)."""
    if not order and not verify:
        return None
    figures = dict(order or {})
    figures["verify_events_per_s"] = (verify or {}).get("events_per_s")
    figures["verify"] = dict(verify) if verify else None
    return figures


def _plain(value: Any, unit: str = "") -> str:
    number = _number(value)
    if number is None:
        return "n/a"
    text = f"{number:,.0f}" if abs(number) >= 1000 else f"{number:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".rstrip()


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def targets_table(document: Mapping[str, Any]) -> str:
    """The "issue 14 targets" block: each figure of the document against its target."""
    rows: list[tuple[str, ...]] = [("issue 14 targets", "figure", "target", "verdict")]
    for row in targets(document):
        comparison = "<=" if "<=" in row["target"] else ">="
        verdict = {True: "met", False: "not met", None: "no figure"}[row["met"]]
        rows.append(
            (row["target"], _plain(row["value"]), f"{comparison} {_plain(row['limit'])}", verdict)
        )
    return "\n".join(_aligned(rows))


def table(document: Mapping[str, Any]) -> str:
    """The figures as an aligned text table, with the condition each was measured under,
    then the issue 14 targets."""
    c = document.get("conditions", {})
    concurrency = c.get("concurrency")
    checkout = document.get("checkout", {})
    outbox = document.get("outbox", {})
    projection = document.get("projection", {})
    reads = document.get("status_reads", {})
    baselines = document.get("baselines", {})
    rebuild = projection.get("rebuild") or {}
    audit = document.get("audit") or {}
    cpu = document.get("cpu_ms_per_checkout") or {}
    database = document.get("database_per_checkout") or {}
    load = f"{checkout.get('concurrency')} clients, {checkout.get('duration_s')} s"
    rows: list[tuple[str, ...]] = [("figure", "p50 / value", "p99", "conditions")]
    for clients, entry in (checkout.get("by_clients") or {}).items():
        backlog = entry.get("backlog") or {}
        at = f"{clients} clients, {entry.get('duration_s')} s"
        rows += [
            (f"checkout throughput @{clients}", _num(entry.get("throughput_per_s"), "/s"), "", at),
            (
                f"checkout latency @{clients}",
                _ms(entry.get("latency_ms"), "p50"),
                _ms(entry.get("latency_ms"), "p99"),
                at,
            ),
            (
                f"worker vs arrivals @{clients}",
                f"{_plain(backlog.get('provider_orders_per_s'))} / "
                f"{_plain(backlog.get('payments_per_s'))} per s",
                "",
                f"{_plain(backlog.get('payments_processing_at_end'))} processing at the end",
            ),
        ]
    if not checkout.get("by_clients"):
        rows += [
            ("checkout throughput", _num(checkout.get("throughput_per_s"), "/s"), "", load),
            (
                "checkout latency",
                _ms(checkout.get("latency_ms"), "p50"),
                _ms(checkout.get("latency_ms"), "p99"),
                load,
            ),
        ]
    postgres = cpu.get("postgres") or {}
    roles = ("api", "projector", "relay", "worker")
    rows += [
        (
            "CPU per checkout, engine",
            _plain(cpu.get("engine_total"), "ms"),
            "",
            ", ".join(f"{r} {_plain(cpu.get(r))}+{_plain(postgres.get(r))}" for r in roles)
            + f" (role+its PostgreSQL), {load}",
        ),
        (
            "CPU per checkout, apart",
            _plain(cpu.get("sandbox"), "ms"),
            "",
            f"sandbox; PostgreSQL background {_plain(postgres.get('background'))} ms, "
            f"broker {_plain(cpu.get('broker'))} ms",
        ),
        (
            "statements per checkout",
            _plain(document.get("statements_per_checkout")),
            "",
            f"engine roles, {load}",
        ),
        (
            "transactions per checkout",
            _plain(document.get("transactions_per_checkout")),
            "",
            f"engine roles, {load}",
        ),
        (
            "WAL fsyncs per checkout",
            _plain(document.get("wal_fsyncs_per_checkout")),
            "",
            f"whole server, {database.get('checkouts', 0)} checkouts",
        ),
    ]
    rows += [
        (
            "outbox event -> broker",
            _ms(outbox.get("latency_ms"), "p50"),
            _ms(outbox.get("latency_ms"), "p99"),
            f"{(outbox.get('latency_ms') or {}).get('samples', 0)} paid orders, under load;"
            " from the event's timestamp, the confirming transaction in the API included",
        ),
        (
            "outbox commit -> broker",
            _ms(outbox.get("commit_to_broker_ms"), "p50"),
            _ms(outbox.get("commit_to_broker_ms"), "p99"),
            "the same records, from the confirming commit (pg_xact_commit_timestamp)",
        ),
        (
            "projection lag",
            _ms(projection.get("lag_ms"), "p50"),
            _ms(projection.get("lag_ms"), "p99"),
            f"{(projection.get('lag_ms') or {}).get('samples', 0)} orders, under load",
        ),
        (
            "projection rebuild",
            _num(projection.get("rebuild_events_per_s"), "events/s"),
            "",
            f"{rebuild.get('events', 0):,} events from the first",
        ),
        (
            "status reads",
            _ms(reads.get("latency_ms"), "p50"),
            _ms(reads.get("latency_ms"), "p99"),
            f"{reads.get('concurrency')} pollers, {reads.get('duration_s')} s",
        ),
        (
            "status read throughput",
            _num(reads.get("throughput_per_s"), "/s"),
            "",
            f"{reads.get('concurrency')} pollers, {reads.get('duration_s')} s",
        ),
        (
            "baseline: psycopg INSERT commits",
            _num(baselines.get("postgres_insert_commits_per_s"), "/s"),
            "",
            f"{concurrency} connections, same server",
        ),
        (
            "baseline: eventsourcing saves",
            _num(baselines.get("eventsourcing_saves_per_s"), "/s"),
            "",
            f"{concurrency} threads, one-event aggregate each",
        ),
        (
            "baseline: batched checkout INSERTs",
            _num(baselines.get("batched_insert_checkouts_per_s"), "checkouts/s"),
            "",
            f"{concurrency} connections, 16 x 5 rows per commit under the table lock",
        ),
        (
            "audit order (history + state)",
            _ms(audit.get("order_ms"), "p50"),
            _ms(audit.get("order_ms"), "p99"),
            f"{audit.get('orders', 0)} orders, log of {audit.get('log_events', 0):,} events",
        ),
        (
            "audit verify (hash chain)",
            _num(audit.get("verify_events_per_s"), "events/s"),
            "",
            f"{(audit.get('verify') or {}).get('events', 0):,} events from the first",
        ),
    ]
    text = "\n".join(_aligned(rows)) + "\n\n" + targets_table(document)
    profile = profile_table(document)
    return text + "\n\n" + profile if profile else text


PROFILE_THREADS = (("checkout_writer", "writer"), ("event_loop", "event loop"))


def _pct(value: Any) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{number:.1%}"


def profile_table(document: Mapping[str, Any]) -> str:
    """The profile block: each thread's buckets (share of its wall time, the part of it
    running or runnable, wall ms per checkout); empty without a profile."""
    profile = document.get("profile") or {}
    threads = profile.get("threads") or {}
    if not threads:
        return ""
    rows: list[tuple[str, ...]] = [("profile", "share", "runnable", "ms/checkout")]
    for key, label in PROFILE_THREADS:
        thread = threads.get(key) or {}
        rows.append(
            (
                f"{label} ({thread.get('thread')}) busy; per checkout "
                f"{_plain(thread.get('cpu_ms_per_checkout'), 'ms')} on CPU, "
                f"{_plain(thread.get('run_queue_ms_per_checkout'), 'ms')} on the run queue",
                _pct(thread.get("busy_share")),
                _pct(thread.get("runnable_share")),
                _plain(thread.get("busy_ms_per_checkout")),
            )
        )
        for bucket in thread.get("buckets") or []:
            rows.append(
                (
                    f"  {bucket.get('what')}",
                    _pct(bucket.get("share")),
                    _pct(bucket.get("runnable_share")),
                    _plain(bucket.get("ms_per_checkout")),
                )
            )
    rows.append(
        (
            f"{profile.get('checkouts')} checkouts in {profile.get('window_s')} s, "
            f"{profile.get('concurrency')} clients; API process "
            f"{_plain(profile.get('process_cpu_ms_per_checkout'), 'ms')} CPU per checkout",
            "",
            "",
            "",
        )
    )
    return "\n".join(_aligned(rows))


def result_name(generated_at: datetime, quick: bool) -> str:
    stamp = generated_at.strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"{stamp}-quick.json" if quick else f"{stamp}.json"


def write(document: Mapping[str, Any], directory: Path, generated_at: datetime) -> list[Path]:
    """latest.json and a dated copy; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    quick = bool(document.get("conditions", {}).get("quick"))
    paths = [directory / "latest.json", directory / result_name(generated_at, quick)]
    for path in paths:
        path.write_text(text)
    return paths
