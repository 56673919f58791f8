"""`checkout-engine run` from a clean data dir: ready, then stopped cleanly by a signal.

Also what a newcomer does next: other commands, from another directory, find
the engine `run` started; a second `run` is refused at once; every stderr line is JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from entrypoints.embedded.broker import free_port
from tests.cli import newcomer_cli
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Run:
    """One `checkout-engine run` in a subprocess; its stderr goes to a file."""

    process: subprocess.Popen[str]
    base: str
    port: int
    stderr: Path
    env: dict[str, str]

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM) -> str:
        """Stop it with `stop_signal`; its stdout."""
        self.process.send_signal(stop_signal)
        stdout, _ = self.process.communicate(timeout=60)
        return stdout

    def stderr_records(self) -> list[object]:
        lines = self.stderr.read_text().splitlines()
        assert lines, "run logged something"
        records: list[object] = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON line on run's stderr: {line!r}")
        return records


def run_environment(
    data_dir: Path, state_home: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    env = {
        **os.environ,
        "CHECKOUT_DATA_DIR": str(data_dir),
        "PORT": str(free_port()),
        "SANDBOX_PORT": str(free_port()),
        "XDG_STATE_HOME": str(state_home),  # never the developer's own pointer
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "STRIPE_SECRET_KEY", "RAZORPAY_KEY_ID"):
        env.pop(name, None)
    if "DATABASE_URL" in os.environ:
        # A configured server: run against a database of this test's own, not its default.
        env["DATABASE_URL"] = request.getfixturevalue("database_url")
    return env


def start_run(env: dict[str, str], stderr: Path) -> Run:
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    port = int(env["PORT"])
    return Run(process, f"http://127.0.0.1:{port}", port, stderr, env)


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def running(
    data_dir: Path, state_home: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Run]:
    run = start_run(run_environment(data_dir, state_home, request), tmp_path / "run.stderr")
    try:
        wait_until(lambda: _ready(run.base), timeout=90, interval=0.2, what="/readyz 200")
        # run has printed its banner once it logs this (it polls /readyz itself).
        wait_until(lambda: '"engine ready"' in run.stderr.read_text(), what="engine ready")
        yield run
    finally:
        _end(run.process)


def _end(process: subprocess.Popen[str]) -> None:
    """Stop `run` as an operator would; whatever it leaves behind is ours to end, by pid."""
    if process.poll() is None:
        try:
            family = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        for child in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    if process.stdout is not None and not process.stdout.closed:
        process.stdout.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_becomes_ready_and_stops_without_leftovers(
    running: Run, data_dir: Path, state_home: Path, stop_signal: signal.Signals
) -> None:
    descendants = psutil.Process(running.process.pid).children(recursive=True)
    assert descendants, "run starts its roles as child processes"
    state_file = data_dir / "engine.json"
    pointer = state_home / "checkout-engine" / "running.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600, "it holds the JWT secret"
    assert json.loads(pointer.read_text())["state_file"] == str(state_file)

    stdout = running.stop(stop_signal)

    assert running.process.returncode == 0
    assert f"API           {running.base}" in stdout
    assert "customer JWT  ey" in stdout
    assert "admin JWT     ey" in stdout
    assert "broker        127.0.0.1:" in stdout
    assert "database      postgresql://" in stdout
    assert "(built-in sandbox)" in stdout
    assert re.search(r"^export KAFKA_BOOTSTRAP_SERVERS=127\.0\.0\.1:\d+$", stdout, re.M)
    assert re.search(r"^export DATABASE_URL='?postgresql://", stdout, re.M)
    assert re.search(r"^export CHECKOUT_JWT_SECRET=\S+$", stdout, re.M)
    survivors = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert _port_is_free(running.port)
    assert not state_file.exists(), "a clean stop removes the state file"
    assert not pointer.exists(), "... and the pointer to it"
    # Every line on run's stderr, the roles' and the services' included, is a JSON object.
    records = running.stderr_records()
    assert all(isinstance(record, dict) for record in records)
    # The embedded database keeps its data across restarts.
    if "DATABASE_URL" not in os.environ:
        assert (data_dir / "pg" / "PG_VERSION").exists()
        assert not (data_dir / "pg" / "postmaster.pid").exists(), "postgres was stopped"


def _skus(base: str) -> list[str]:
    return [item["sku"] for item in httpx.get(f"{base}/products", timeout=10).json()["items"]]


def newcomer(*args: str, cwd: Path, state_home: Path) -> subprocess.CompletedProcess[str]:
    return newcomer_cli(*args, cwd=cwd, state_home=state_home)


def test_other_commands_find_the_running_engine(
    running: Run, state_home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    catalog = elsewhere / "catalog.json"
    sku = f"MUG-{uuid.uuid4().hex[:6]}"
    entry = {"sku": sku, "name": "Mug", "vendorId": "v1", "unitAmount": 1250, "currency": "USD"}
    catalog.write_text(json.dumps([{**entry, "stock": 4}]))

    token = newcomer("token", "--sub", "alice", cwd=elsewhere, state_home=state_home)
    loaded = newcomer("catalog", "load", str(catalog), cwd=elsewhere, state_home=state_home)

    assert token.returncode == 0, token.stderr
    assert loaded.returncode == 0, loaded.stderr
    assert not (elsewhere / ".data").exists(), "no second embedded PostgreSQL"
    order = httpx.get(
        f"{running.base}/orders/{uuid.uuid4()}",
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
        timeout=10,
    )
    assert order.status_code == 404, "the engine accepts the token (401 if it did not)"
    wait_until(lambda: sku in _skus(running.base), what="the loaded sku in GET /products")

    running.stop()
    after = newcomer("token", "--sub", "alice", cwd=elsewhere, state_home=state_home)
    assert after.returncode == 2
    assert after.stderr.startswith("checkout-engine: error: no running engine found")


def test_a_second_run_is_refused_before_it_starts_anything(running: Run, tmp_path: Path) -> None:
    same_data_dir = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "run"],
        env={**running.env, "PORT": str(free_port()), "SANDBOX_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    same_port = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "run"],
        env={
            **running.env,
            "CHECKOUT_DATA_DIR": str(tmp_path / "other"),
            "SANDBOX_PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert same_data_dir.returncode == 2
    assert same_data_dir.stdout == ""
    data_dir = running.env["CHECKOUT_DATA_DIR"]
    assert same_data_dir.stderr.startswith(
        f"checkout-engine: error: an engine is already running for {data_dir} "
        f"(pid {running.process.pid}, API {running.base})"
    )
    assert same_port.returncode == 2
    assert same_port.stdout == ""
    assert same_port.stderr.startswith(
        f"checkout-engine: error: PORT: 127.0.0.1:{running.port} is already in use, by the "
        f"engine running from {data_dir}"
    )
    assert len(same_port.stderr.splitlines()) == 1
    assert _ready(running.base), "the first engine runs on"
