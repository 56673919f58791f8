"""What PostgreSQL did per checkout: statements, transactions, WAL, and which role asked.

Every role's connections carry application_name `checkout-<role>` (the supervisor sets
libpq's PGAPPNAME for each role child; the relay names its lease connection
`checkout-relay:<name>`), the bench's own connections `checkout-bench...`.

- Statements and transactions: pgserver's PostgreSQL has no pg_stat_statements, so the
  bench compiles its own counter (bench/pg_counters.c) against the embedded server's
  headers and loads it with shared_preload_libraries. It counts, per application_name,
  what pg_stat_statements counts as calls (track = top, track_utility = on) and the
  transactions pg_stat_database counts, for client backends only, as they happen.
- WAL: pg_stat_wal (wal_sync: the fsyncs, by backends at commit and by the WAL writer;
  wal_write, wal_records, wal_bytes). It is server-wide and comes through the cumulative
  statistics system, which a busy backend flushes at most once a second.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SOURCE = Path(__file__).with_name("pg_counters.c")
LIBRARY = "bench_counters.so"
FUNCTION = "bench.counters"
COUNTERS = (
    "queries",
    "utility",
    "transaction_control",
    "commits",
    "write_commits",
    "rollbacks",
)
WAL = ("wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "wal_write", "wal_sync")
ENGINE_ROLES = ("api", "projector", "relay", "worker")
ROLES = ("sandbox", *ENGINE_ROLES)
BENCH = "bench"  # the bench's own connections: probes, samplers
OTHER = "other"  # a client with another name (catalog load, psql, `run` itself)
BACKGROUND = "background"  # the server's own processes: WAL writer, checkpointer, autovacuum
APP_PREFIX = "checkout-"
BENCH_APP = "checkout-bench"


def category_of(application_name: str | None) -> str:
    """The role (or bench, or other) a connection's application_name belongs to:
    `checkout-api`, `checkout-relay:<lease>` -> api, relay; `checkout-bench-*` -> bench."""
    name = application_name or ""
    if not name.startswith(APP_PREFIX):
        return OTHER
    rest = name[len(APP_PREFIX) :]
    for separator in (":", "-", " "):
        rest = rest.split(separator, 1)[0]
    if rest in ROLES or rest == BENCH:
        return rest
    return OTHER


# -- the counter library ---------------------------------------------------------------------


def build(directory: Path) -> tuple[Path | None, str | None]:
    """Compile pg_counters.c for the embedded server: (the library, None) or (None, why not)."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None, "pgserver is not installed"
    pg_config = Path(POSTGRES_BIN_PATH) / "pg_config"
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return None, "no C compiler (cc) to build bench/pg_counters.c"

    def config(option: str) -> str:
        out = subprocess.run(
            [str(pg_config), option], capture_output=True, text=True, check=True, timeout=30
        )
        return out.stdout.strip()

    directory.mkdir(parents=True, exist_ok=True)
    library = directory / LIBRARY
    try:
        argv = [
            compiler,
            *shlex.split(config("--cflags")),
            *shlex.split(config("--cflags_sl")),
            "-shared",
            f"-I{config('--includedir-server')}",
            "-o",
            str(library),
            str(SOURCE),
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"building bench/pg_counters.c failed: {exc}"
    if out.returncode != 0:
        return None, f"building bench/pg_counters.c failed: {out.stderr.strip()[-500:]}"
    return library, None


def preload(conninfo: str, library: Path) -> None:
    """Name the library in shared_preload_libraries, and keep each transaction's commit
    time (the outbox probes split their latency at the confirming commit); both take
    effect at the next start."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(
                sql.Literal(str(library))
            )
        )
        conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")


def forget_preload(pgdata: Path) -> None:
    """Drop shared_preload_libraries from postgresql.auto.conf (for a server that would
    not start with the library, so ALTER SYSTEM cannot reach it)."""
    auto = pgdata / "postgresql.auto.conf"
    if auto.exists():
        kept = [
            line
            for line in auto.read_text().splitlines()
            if not line.strip().startswith("shared_preload_libraries")
        ]
        auto.write_text("\n".join(kept) + "\n")


def install(conninfo: str, library: Path) -> None:
    """After the restart: the SQL function that reads the counters (schema `bench`)."""
    columns = ", ".join(f"OUT {name} bigint" for name in COUNTERS)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION "
                + FUNCTION
                + "(OUT application_name text, "
                + columns
                + ") RETURNS SETOF record AS {}, 'bench_counters' LANGUAGE C STRICT VOLATILE"
            ).format(sql.Literal(str(library)))
        )
        conn.execute(f"SELECT * FROM {FUNCTION}()").fetchall()


# -- reading them ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    at: float
    by_application: dict[str, dict[str, int]] | None  # None without the counter library
    wal: dict[str, float]
    database: dict[str, int]  # pg_stat_database of the bench's database


@dataclass
class CounterReader:
    """One connection of its own (application_name checkout-bench-counters)."""

    conninfo: str
    with_library: bool
    _conn: psycopg.Connection[Any] | None = field(default=None, repr=False)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.conninfo, autocommit=True, application_name=f"{BENCH_APP}-counters"
            )
        return self._conn

    def snapshot(self) -> Snapshot:
        conn = self._connection()
        at = time.monotonic()
        by_application: dict[str, dict[str, int]] | None = None
        if self.with_library:
            rows = conn.execute(f"SELECT * FROM {FUNCTION}()").fetchall()
            by_application = {
                str(row[0]): {name: int(v) for name, v in zip(COUNTERS, row[1:], strict=True)}
                for row in rows
            }
        wal_row = conn.execute(f"SELECT {', '.join(WAL)} FROM pg_stat_wal").fetchone()
        wal = {name: float(v) for name, v in zip(WAL, wal_row or (), strict=False)}
        db_row = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
        database = (
            {"xact_commit": int(db_row[0]), "xact_rollback": int(db_row[1])} if db_row else {}
        )
        return Snapshot(at, by_application, wal, database)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0) for k in after}


def _per(value: float, checkouts: int) -> float | None:
    return round(value / checkouts, 2) if checkouts > 0 else None


def per_checkout(before: Snapshot, after: Snapshot, checkouts: int) -> dict[str, Any]:
    """Statements, transactions and WAL per checkout over the window between two snapshots.

    Statements and transactions are the engine roles' (api, projector, relay, worker);
    the bench's own connections, the sandbox's and unknown ones are shown apart."""
    result: dict[str, Any] = {"checkouts": checkouts, "window_s": round(after.at - before.at, 2)}
    if before.by_application is not None and after.by_application is not None:
        by_category: dict[str, dict[str, float]] = {}
        for name, counts in after.by_application.items():
            moved = _delta(before.by_application.get(name, {}), counts)
            into = by_category.setdefault(category_of(name), dict.fromkeys(COUNTERS, 0.0))
            for key, value in moved.items():
                into[key] += value
        engine = {
            k: sum(by_category.get(r, {}).get(k, 0.0) for r in ENGINE_ROLES) for k in COUNTERS
        }

        def statements(counts: Mapping[str, float]) -> float:
            return (
                counts.get("queries", 0)
                + counts.get("utility", 0)
                + counts.get("transaction_control", 0)
            )

        def transactions(counts: Mapping[str, float]) -> float:
            return counts.get("commits", 0) + counts.get("rollbacks", 0)

        result["statements_per_checkout"] = _per(statements(engine), checkouts)
        result["transactions_per_checkout"] = _per(transactions(engine), checkouts)
        result["statements"] = {
            "total": int(statements(engine)),
            "by_role_per_checkout": {
                r: _per(statements(by_category.get(r, {})), checkouts) for r in ENGINE_ROLES
            },
            "by_kind_per_checkout": {
                "queries": _per(engine["queries"], checkouts),
                "utility": _per(engine["utility"], checkouts),
                "transaction_control": _per(engine["transaction_control"], checkouts),
            },
            "not_engine": {
                c: int(statements(v))
                for c, v in sorted(by_category.items())
                if c not in ENGINE_ROLES
            },
        }
        result["transactions"] = {
            "total": int(transactions(engine)),
            "by_role_per_checkout": {
                r: _per(transactions(by_category.get(r, {})), checkouts) for r in ENGINE_ROLES
            },
            "writing_per_checkout": _per(engine["write_commits"], checkouts),
            "rollbacks": int(engine["rollbacks"]),
            "not_engine": {
                c: int(transactions(v))
                for c, v in sorted(by_category.items())
                if c not in ENGINE_ROLES
            },
        }
    else:
        result["statements_per_checkout"] = None
        result["transactions_per_checkout"] = None
    wal = _delta(before.wal, after.wal)
    result["wal_fsyncs_per_checkout"] = _per(wal.get("wal_sync", 0.0), checkouts)
    result["wal"] = {
        "fsyncs": int(wal.get("wal_sync", 0)),
        "writes_per_checkout": _per(wal.get("wal_write", 0.0), checkouts),
        "records_per_checkout": _per(wal.get("wal_records", 0.0), checkouts),
        "bytes_per_checkout": _per(wal.get("wal_bytes", 0.0), checkouts),
        "full_page_images_per_checkout": _per(wal.get("wal_fpi", 0.0), checkouts),
    }
    database = _delta(before.database, after.database)
    result["database_transactions_all_clients"] = int(
        database.get("xact_commit", 0) + database.get("xact_rollback", 0)
    )
    return result
