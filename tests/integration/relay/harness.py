"""Runs relays for the tests: on a thread of the test process, or as a process to kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.relay import OutboxRelay, RelayOptions, RelayStep, RelayTopics, advisory_key
from infrastructure.relay.metrics import DEFAULT_RELAY_NAME, stored_position
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]

# Quick to notice, quick to retry: the defaults are tuned for production, not for tests.
FAST = RelayOptions(safety_poll=0.3, standby_retry=0.2, backoff_max=0.5, admin_timeout=3.0)


def relay_topics(suffix: str) -> RelayTopics:
    return RelayTopics(
        confirmed=f"orders.confirmed.{suffix}",
        cancelled=f"orders.cancelled.{suffix}",
        refunded=f"orders.refunded.{suffix}",
        disputed=f"orders.disputed.{suffix}",
    )


def producer_config(bootstrap_servers: str, message_timeout_ms: int = 5000) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap_servers, "message.timeout.ms": message_timeout_ms}


@dataclass
class RelayThread:
    """A relay on a thread of the test process, stopped the way the CLI stops it."""

    relay: OutboxRelay
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RelayThread:
        self._thread = threading.Thread(
            target=self.relay.run_forever, args=(self._stop,), name="relay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=20)
            assert not self._thread.is_alive(), "relay did not stop"

    def __enter__(self) -> OutboxRelay:
        self.start()
        return self.relay

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_caught_up(app: CheckoutApplication, db: Engine, timeout: float = 15.0) -> int:
    """Wait until the saved position covers every committed notification; return it."""
    head = app.head_position()
    return wait_until(
        lambda: (position := stored_position(db)) >= head and position,
        timeout=timeout,
        what=f"relay position to reach {head}",
    )


def wait_for_passes(relay: OutboxRelay, count: int = 3) -> None:
    """Let the relay read the log `count` more times (safety polls, no NOTIFY needed)."""
    target = relay.passes + count
    wait_until(lambda: relay.passes >= target, timeout=10, what=f"{count} relay passes")


def lease_holder_pid(database_url: str) -> int | None:
    """The backend pid of the connection holding the relay's advisory lock."""
    key = advisory_key(DEFAULT_RELAY_NAME)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchone()
    return None if row is None else int(row[0])


def start_relay_process(
    database_url: str,
    bootstrap_servers: str,
    suffix: str,
    log_path: Path,
    crash_at: RelayStep | None = None,
) -> subprocess.Popen[bytes]:
    """`python -m tests.integration.relay.relay_process`: SIGTERM stops it cleanly."""
    args = [database_url, bootstrap_servers, suffix, crash_at.value if crash_at else ""]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.relay.relay_process", *args],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop_process(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise
    return process.returncode
