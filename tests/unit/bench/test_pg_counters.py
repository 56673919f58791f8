"""The bench's statement counter (bench/pg_counters.c) on a real embedded server: it is
built, preloaded, and counts what its documentation says, per application_name. The only
test here that starts PostgreSQL (a few seconds). The machine must have a C compiler, as
`make bench` needs one: a missing one fails here rather than being skipped."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from bench import counters
from bench.counters import CounterReader, per_checkout
from bench.services import _database
from entrypoints.harness import libpq_url


def test_the_machine_has_the_c_compiler_the_counter_is_built_with() -> None:
    assert shutil.which("cc") or shutil.which("gcc"), "make bench builds bench/pg_counters.c"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ExitStack() as stack:
        url, embedded, problem = _database(tmp_path_factory.mktemp("pg-counters"), stack)
        assert embedded
        assert problem is None
        yield libpq_url(url)


def _counts(conninfo: str, name: str) -> dict[str, int]:
    found = CounterReader(conninfo, with_library=True)
    try:
        by_application = found.snapshot().by_application or {}
    finally:
        found.close()
    return by_application.get(name, dict.fromkeys(counters.COUNTERS, 0))


def test_statements_and_transactions_are_counted_per_application_name(server: str) -> None:
    with psycopg.connect(server, application_name="checkout-api") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS counted (n int)")
        conn.commit()  # BEGIN, CREATE, COMMIT
    before = _counts(server, "checkout-api")
    with psycopg.connect(server, application_name="checkout-api") as conn:
        for n in range(3):
            conn.execute("SELECT %s::int", (n,), prepare=True)
        conn.commit()  # BEGIN, 3 queries, COMMIT: a transaction that wrote nothing
        conn.execute("LOCK TABLE counted IN EXCLUSIVE MODE")
        conn.execute("INSERT INTO counted SELECT generate_series(1, 10)")  # one statement
        conn.execute("NOTIFY counted")
        conn.commit()  # BEGIN, LOCK, INSERT, NOTIFY, COMMIT: one writing transaction
        # Statements inside a function are not top-level: the DO block is one statement.
        conn.execute("DO $$ BEGIN PERFORM 1; PERFORM 2; END $$")
        # BEGIN, DO, ROLLBACK; then psycopg drops its prepared statements with DEALLOCATE
        # ALL, in a transaction of its own (not a statement, as in pg_stat_statements).
        conn.rollback()
        with conn.pipeline():
            conn.cursor().executemany("INSERT INTO counted VALUES (%s)", [(1,), (2,)])
        conn.commit()  # BEGIN, 2 executions, COMMIT
    after = _counts(server, "checkout-api")
    moved = {k: after[k] - before[k] for k in after}
    assert moved == {
        "queries": 3 + 1 + 2,
        "utility": 2 + 1,  # LOCK, NOTIFY; DO
        "transaction_control": 8,
        "commits": 3 + 1,  # DEALLOCATE's; not the start-up transaction of a connection
        "write_commits": 2,
        "rollbacks": 1,
    }


def test_the_bench_reads_deltas_by_role(server: str) -> None:
    reader = CounterReader(server, with_library=True)
    try:
        first = reader.snapshot()
        with psycopg.connect(server, autocommit=True, application_name="checkout-relay:x") as c:
            c.execute("SELECT 1")
            c.execute("SELECT 2")
        with psycopg.connect(server, autocommit=True, application_name="checkout-bench-t") as c:
            c.execute("SELECT 1")
        second = reader.snapshot()
    finally:
        reader.close()
    figures = per_checkout(first, second, checkouts=1)
    assert figures["statements"]["by_role_per_checkout"]["relay"] == 2.0
    assert figures["transactions"]["by_role_per_checkout"]["relay"] == 2.0
    assert figures["statements"]["not_engine"]["bench"] >= 1  # its own reads, and ours
    assert figures["wal_fsyncs_per_checkout"] is not None


def test_a_server_without_the_library_still_starts(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a shared library")
    with pytest.MonkeyPatch.context() as patch, ExitStack() as stack:
        patch.setattr(counters, "build", lambda _directory: (bogus, None))
        url, _, problem = _database(tmp_path, stack)
        assert problem is not None
        assert "pg_counters" in problem
        with psycopg.connect(libpq_url(url)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
