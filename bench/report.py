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
    "machine.cores",
    "machine.memory_gib",
)


def lookup(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


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
) -> dict[str, Any]:
    """The results document: the issue's keys first, details beside them."""
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
        },
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
            "postgres_insert": dict(postgres_baseline),
            "eventsourcing_save": dict(eventsourcing_baseline),
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


def table(document: Mapping[str, Any]) -> str:
    """The figures as an aligned text table, with the condition each was measured under."""
    c = document.get("conditions", {})
    concurrency = c.get("concurrency")
    checkout = document.get("checkout", {})
    outbox = document.get("outbox", {})
    projection = document.get("projection", {})
    reads = document.get("status_reads", {})
    baselines = document.get("baselines", {})
    rebuild = projection.get("rebuild") or {}
    audit = document.get("audit") or {}
    load = f"{concurrency} clients, {checkout.get('duration_s')} s"
    rows = [
        ("figure", "p50 / value", "p99", "conditions"),
        (
            "checkout throughput",
            _num(checkout.get("throughput_per_s"), "/s"),
            "",
            load,
        ),
        (
            "checkout latency",
            _ms(checkout.get("latency_ms"), "p50"),
            _ms(checkout.get("latency_ms"), "p99"),
            load,
        ),
        (
            "outbox commit -> broker",
            _ms(outbox.get("latency_ms"), "p50"),
            _ms(outbox.get("latency_ms"), "p99"),
            f"{(outbox.get('latency_ms') or {}).get('samples', 0)} paid orders, under load",
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
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
