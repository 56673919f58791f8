"""`checkout-engine run` from a clean data dir: ready, then stopped cleanly by a signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from infrastructure.embedded.broker import free_port
from tests.waiting import wait_until


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_becomes_ready_and_stops_without_leftovers(
    data_dir: Path, stop_signal: signal.Signals, request: pytest.FixtureRequest
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHECKOUT_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "SANDBOX_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "STRIPE_SECRET_KEY", "RAZORPAY_KEY_ID"):
        env.pop(name, None)
    if "DATABASE_URL" in os.environ:
        # A configured server: run against a database of this test's own, not its default.
        env["DATABASE_URL"] = request.getfixturevalue("database_url")
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until(lambda: _ready(base), timeout=90, interval=0.2, what="/readyz 200")
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert descendants, "run starts its roles as child processes"
        process.send_signal(stop_signal)
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"API           {base}" in stdout
    assert "customer JWT  ey" in stdout
    assert "admin JWT     ey" in stdout
    assert "broker        127.0.0.1:" in stdout
    assert "database      postgresql://" in stdout
    assert "(built-in sandbox)" in stdout
    survivors = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert _port_is_free(port)
    # The embedded database keeps its data across restarts.
    if "DATABASE_URL" not in os.environ:
        assert (data_dir / "pg" / "PG_VERSION").exists()
        assert not (data_dir / "pg" / "postmaster.pid").exists(), "postgres was stopped"
