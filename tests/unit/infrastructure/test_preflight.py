"""What `run` refuses before it starts anything: a data dir in use, a taken port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints.embedded.broker import free_port
from entrypoints.preflight import RunRefused, bind_problem, check_ports, claim_data_dir
from entrypoints.running_engine import EngineState, process_start, publish
from infrastructure.settings import load_settings


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKOUT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def other_process() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def state(data_dir: Path, pid: int, api_port: int = 8000) -> EngineState:
    return EngineState(
        pid=pid,
        data_dir=str(data_dir),
        api_url=f"http://127.0.0.1:{api_port}",
        database_url="postgresql://u@/db?host=/tmp",
        kafka_bootstrap_servers="127.0.0.1:9092",
        jwt_secret="s" * 40,
        sandbox_url=None,
        process_start=process_start(pid),
    )


def test_one_engine_per_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    claim = claim_data_dir(data_dir)
    try:
        with pytest.raises(RunRefused) as refused:
            claim_data_dir(data_dir)
    finally:
        claim.release()
    assert str(refused.value).startswith(f"an engine is already running for {data_dir} (pid ")
    assert "CHECKOUT_DATA_DIR" in str(refused.value)
    claim_data_dir(data_dir).release()  # free again once released


def test_a_live_engine_in_the_state_file_refuses_too(tmp_path: Path, other_process: int) -> None:
    data_dir = tmp_path / "data"
    publish(state(data_dir, other_process, api_port=8123))

    with pytest.raises(RunRefused) as refused:
        claim_data_dir(data_dir)

    assert f"pid {other_process}, API http://127.0.0.1:8123" in str(refused.value)


def test_a_state_file_left_by_a_crash_is_no_obstacle(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    publish(state(data_dir, finished.pid))

    claim_data_dir(data_dir).release()


def test_a_taken_api_port_is_named(listening: int) -> None:
    settings = load_settings(PORT=str(listening), SANDBOX_PORT=str(free_port()))

    with pytest.raises(RunRefused) as refused:
        check_ports(settings, with_sandbox=True)

    assert str(refused.value) == (
        f"PORT: 127.0.0.1:{listening} is already in use; stop it, or set PORT to a free port"
    )


def test_a_taken_sandbox_port_is_named(listening: int) -> None:
    settings = load_settings(PORT=str(free_port()), SANDBOX_PORT=str(listening))

    with pytest.raises(RunRefused, match=rf"^SANDBOX_PORT: 127\.0\.0\.1:{listening} is already"):
        check_ports(settings, with_sandbox=True)
    check_ports(settings, with_sandbox=False)  # configured providers: no sandbox to start


def test_the_engine_holding_the_port_is_named(tmp_path: Path, listening: int) -> None:
    publish(state(tmp_path / "first", pid=os.getpid(), api_port=listening))
    settings = load_settings(
        PORT=str(listening), SANDBOX_PORT=str(free_port()), CHECKOUT_DATA_DIR="second"
    )

    with pytest.raises(RunRefused) as refused:
        check_ports(settings, with_sandbox=True)

    assert f"by the engine running from {tmp_path / 'first'}" in str(refused.value)


def test_the_sandbox_cannot_share_the_api_port() -> None:
    port = free_port()
    settings = load_settings(PORT=str(port), SANDBOX_PORT=str(port))

    with pytest.raises(RunRefused, match=r"^SANDBOX_PORT: "):
        check_ports(settings, with_sandbox=True)


def test_free_ports_pass() -> None:
    check_ports(load_settings(PORT=str(free_port()), SANDBOX_PORT=str(free_port())), True)
    assert bind_problem("127.0.0.1", free_port()) is None


def test_an_address_that_is_not_ours_is_named() -> None:
    problem = bind_problem("192.0.2.1", free_port())  # TEST-NET-1: never a local address
    assert problem is not None
    assert problem.startswith("cannot be listened on")
