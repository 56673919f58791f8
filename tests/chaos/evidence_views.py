"""The views and the provider task table against a fresh rebuild from the log.

Each view is rebuilt by its own projection code into a copy of its table in a scratch
schema (``chaos_check_<random>``, dropped afterwards; the live ``<table>__rebuild`` names
stay free for a real rebuild), up to exactly the position the live table is at: the live
rows and their tracking position are read in one REPEATABLE READ snapshot, so a view that
is still moving compares at the position it has reached.

No column is ignored: every value a view stores is derived from the events (timestamps
are the events' own, ``projections/rows.py``), so a replay must give the same row. The
provider task table is a work queue: its keys, order ids and amounts come from the log,
its ``status``, ``attempts``, ``last_error``, lease and timestamps from the worker, so
only the former are compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from infrastructure.worker.task_feed import ProviderTaskFeed
from projections import ALL_PROJECTIONS
from projections.projection import Projection
from projections.schema import NAMING_CONVENTION, TABLE_FACTORIES, provider_tasks
from tests.chaos.evidence_log import LogFacts, notifications
from tests.chaos.evidence_model import Findings

BATCH = 500
SHOWN = 20  # row differences reported per view; the rest are counted
IGNORED_COLUMNS: Mapping[str, frozenset[str]] = {name: frozenset() for name in TABLE_FACTORIES}
TASK_COLUMNS = ("order_id", "amount")  # compared per task key; status etc. are the worker's


def table_exists(conn: Connection, name: str) -> bool:
    return conn.execute(sa.select(sa.func.to_regclass(name))).scalar() is not None


def tracked_position(conn: Connection, name: str) -> int:
    row = conn.execute(
        sa.text("SELECT position FROM projection_tracking WHERE name = :name"), {"name": name}
    ).scalar()
    return int(row or 0)


def check_views(app: CheckoutApplication, db: Engine, facts: LogFacts, findings: Findings) -> None:
    schema = f"chaos_check_{uuid.uuid4().hex[:10]}"
    with db.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        for projection in ALL_PROJECTIONS:
            _compare_view(app, db, facts, projection, schema, findings)
    finally:
        with db.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    _compare_tasks(app, db, facts, findings)


def read_snapshot(db: Engine, table: str, follower: str) -> tuple[int, list[dict[str, Any]]] | None:
    """The live rows and the follower's position, as of one moment; None without a table."""
    with db.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        if not table_exists(conn, table) or not table_exists(conn, "projection_tracking"):
            return None
        position = tracked_position(conn, follower)
        rows = [dict(r) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings()]
        conn.rollback()
    return position, rows


def events_up_to(app: CheckoutApplication, facts: LogFacts, position: int) -> Iterable[Any]:
    """The log's events up to ``position``: those read already, then any that came since."""
    yield from (logged.event for logged in facts.events if logged.position <= position)
    if position > facts.head:
        for notification in notifications(app, stop=position):
            if notification.id > facts.head:
                yield app.mapper.to_domain_event(notification)


def _compare_view(
    app: CheckoutApplication,
    db: Engine,
    facts: LogFacts,
    projection: Projection,
    schema: str,
    findings: Findings,
) -> None:
    name = projection.table.name
    snapshot = read_snapshot(db, name, projection.name)
    if snapshot is None:
        findings.add("evidence.missing_table", name, "the view's table or its tracking is gone")
        return
    position, live = snapshot
    shadow_table = TABLE_FACTORIES[name](
        sa.MetaData(naming_convention=NAMING_CONVENTION, schema=schema), name
    )
    shadow = type(projection)(shadow_table)
    followed = set(shadow.followed())
    with db.begin() as conn:
        shadow_table.create(conn)
    batch: list[Any] = []
    for event in events_up_to(app, facts, position):
        if type(event) in followed:
            batch.append(event)
        if len(batch) >= BATCH:
            _apply(db, shadow, batch)
            batch = []
    _apply(db, shadow, batch)
    with db.connect() as conn:
        rebuilt = [dict(r) for r in conn.execute(sa.select(shadow_table)).mappings()]
    keys = [column.name for column in shadow_table.primary_key.columns]
    findings.count(f"{name} rows", len(live))
    diff_rows(name, keys, live, rebuilt, IGNORED_COLUMNS.get(name, frozenset()), findings)


def _apply(db: Engine, shadow: Projection, events: Sequence[Any]) -> None:
    if events:
        with db.begin() as conn:
            shadow.apply_batch(conn, events)


def diff_rows(
    name: str,
    keys: Sequence[str],
    live: list[dict[str, Any]],
    rebuilt: list[dict[str, Any]],
    ignored: frozenset[str],
    findings: Findings,
) -> None:
    def keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {tuple(row[k] for k in keys): row for row in rows}

    now, fresh = keyed(live), keyed(rebuilt)
    problems: list[tuple[str, str]] = []
    for key in fresh.keys() - now.keys():
        problems.append((_subject(key), f"{name}: row missing from the live view"))
    for key in now.keys() - fresh.keys():
        problems.append((_subject(key), f"{name}: row the log does not make"))
    for key in now.keys() & fresh.keys():
        wrong = sorted(
            column
            for column, value in fresh[key].items()
            if column not in ignored and now[key].get(column) != value
        )
        if wrong:
            shown = {c: (now[key].get(c), fresh[key][c]) for c in wrong}
            problems.append((_subject(key), f"{name}: live != rebuilt in {_short(shown)}"))
    for subject, detail in sorted(problems)[:SHOWN]:
        findings.add("views.rebuild", subject, detail)
    if len(problems) > SHOWN:
        findings.add("views.rebuild", name, f"{len(problems) - SHOWN} more rows differ")


def _subject(key: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in key)


def _short(value: object, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _compare_tasks(
    app: CheckoutApplication, db: Engine, facts: LogFacts, findings: Findings
) -> None:
    snapshot = read_snapshot(db, provider_tasks.name, ProviderTaskFeed.name)
    if snapshot is None:
        findings.add("evidence.missing_table", provider_tasks.name, "the task table is gone")
        return
    position, live = snapshot
    findings.count("provider tasks", len(live))
    wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events_up_to(app, facts, position):
        task_for = ProviderTaskFeed.tasks.get(type(event))
        if task_for is not None:
            row = {"order_id": None, "refund_id": None, "amount": None} | task_for(event)
            wanted.setdefault(_task_key(row), row)  # the feed inserts ON CONFLICT DO NOTHING
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in live:
        key = _task_key(row)
        if key in found:
            findings.add("tasks.duplicate", "/".join(key), "two rows for one provider call")
        found[key] = row
    for key in wanted.keys() - found.keys():
        findings.add("tasks.missing", "/".join(key), "the log asks for it; no task row")
    for key in found.keys() - wanted.keys():
        findings.add("tasks.unexpected", "/".join(key), "a task the log does not ask for")
    for key in wanted.keys() & found.keys():
        wrong = {
            c: (found[key][c], wanted[key][c])
            for c in TASK_COLUMNS
            if found[key][c] != wanted[key][c]
        }
        if wrong:
            findings.add("tasks.mismatch", "/".join(key), f"live != log in {wrong}")


def _task_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(row["kind"]), str(row["payment_id"]), str(row["refund_id"] or ""))
