"""Where `run` records the engine, and how the other commands find it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.running_engine import (
    EngineState,
    NoRunningEngine,
    database_url,
    find_running_engine,
    jwt_secret,
    pointer_path,
    process_start,
    publish,
    state_path,
)
from infrastructure.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """./.data and the pointer under tmp_path; nothing configured."""
    for name in ("DATABASE_URL", "CHECKOUT_JWT_SECRET", "CHECKOUT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def engine_state(data_dir: Path, pid: int | None = None, secret: str = "s" * 40) -> EngineState:
    pid = os.getpid() if pid is None else pid
    return EngineState(
        pid=pid,
        data_dir=str(data_dir),
        api_url="http://127.0.0.1:8000",
        database_url=f"postgresql://u:p@127.0.0.1:5432/{data_dir.name}",
        kafka_bootstrap_servers="127.0.0.1:9092",
        jwt_secret=secret,
        sandbox_url="http://127.0.0.1:12111",
        process_start=process_start(pid),
    )


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_publish_writes_a_private_state_file_and_a_pointer(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    publication = publish(engine_state(data_dir))

    assert publication.state_file == data_dir / "engine.json"
    assert stat.S_IMODE(publication.state_file.stat().st_mode) == 0o600
    assert EngineState.from_json(publication.state_file.read_text()) == publication.state
    assert publication.pointer == tmp_path / "state" / "checkout-engine" / "running.json"
    assert json.loads(publication.pointer.read_text())["state_file"] == str(publication.state_file)

    publication.withdraw()
    assert not publication.state_file.exists()
    assert not publication.pointer.exists()


def test_withdraw_leaves_the_pointer_to_an_engine_started_since(tmp_path: Path) -> None:
    first = publish(engine_state(tmp_path / "one"))
    second = publish(engine_state(tmp_path / "two"))

    first.withdraw()

    assert not first.state_file.exists()
    assert second.pointer is not None
    assert second.pointer.exists()
    assert json.loads(second.pointer.read_text())["state_file"] == str(second.state_file)


def test_the_pointer_follows_xdg_state_home(tmp_path: Path) -> None:
    assert pointer_path({"XDG_STATE_HOME": "/srv/state"}) == Path(
        "/srv/state/checkout-engine/running.json"
    )
    # XDG: a relative (or empty) value is ignored.
    default = Path.home() / ".local" / "state" / "checkout-engine" / "running.json"
    assert pointer_path({"XDG_STATE_HOME": "relative"}) == default
    assert pointer_path({}) == default


def test_the_engine_of_the_given_data_dir_is_found(tmp_path: Path) -> None:
    data_dir = tmp_path / "elsewhere"
    publish(engine_state(data_dir, secret="x" * 40))

    settings = load_settings(CHECKOUT_DATA_DIR=str(data_dir))

    assert find_running_engine(settings, needs="DATABASE_URL").data_dir == str(data_dir)
    assert jwt_secret(settings) == "x" * 40
    assert database_url(settings).endswith("/elsewhere")


def test_without_a_data_dir_the_pointer_finds_the_engine(tmp_path: Path) -> None:
    publish(engine_state(tmp_path / "far" / "away"))

    assert database_url(load_settings()).endswith("/away")


def test_the_local_data_dir_comes_before_the_pointer(tmp_path: Path) -> None:
    publish(engine_state(tmp_path / "far"))
    local = state_path(tmp_path / ".data")
    local.parent.mkdir()
    local.write_text(engine_state(tmp_path / ".data").to_json())

    assert database_url(load_settings()).endswith("/.data")


def test_a_given_data_dir_is_not_swapped_for_the_pointer(tmp_path: Path) -> None:
    publish(engine_state(tmp_path / "far"))
    settings = load_settings(CHECKOUT_DATA_DIR=str(tmp_path / "mine"))

    with pytest.raises(NoRunningEngine) as raised:
        database_url(settings)

    message = str(raised.value)
    assert str(tmp_path / "mine" / "engine.json") in message
    assert "pointer" not in message


def test_an_engine_whose_process_is_gone_is_not_running(tmp_path: Path) -> None:
    publish(engine_state(tmp_path / ".data", pid=dead_pid()))

    with pytest.raises(NoRunningEngine) as raised:
        jwt_secret(load_settings())

    message = str(raised.value)
    assert message.startswith("no running engine found (looked for ")
    assert "checkout-engine run" in message
    assert "CHECKOUT_JWT_SECRET" in message
    assert "CHECKOUT_DATA_DIR" in message
    assert "\n" not in message


def test_a_recycled_pid_is_not_the_engine(tmp_path: Path) -> None:
    assert process_start(os.getpid()) is not None, "Linux: /proc/PID/stat has the start time"
    state = engine_state(tmp_path / ".data")
    recycled = EngineState(**{**state.__dict__, "process_start": "1"})
    publish(recycled)

    with pytest.raises(NoRunningEngine):
        database_url(load_settings())


def test_configuration_wins_over_the_running_engine(tmp_path: Path) -> None:
    publish(engine_state(tmp_path / ".data"))
    settings = Settings(
        DATABASE_URL="postgresql://me@db.example:5432/shop", CHECKOUT_JWT_SECRET="c" * 40
    )

    assert database_url(settings) == "postgresql://me@db.example:5432/shop"
    assert jwt_secret(settings) == "c" * 40


def test_an_unreadable_state_file_counts_as_none(tmp_path: Path) -> None:
    local = state_path(tmp_path / ".data")
    local.parent.mkdir()
    local.write_text("{not json")

    with pytest.raises(NoRunningEngine):
        database_url(load_settings())


def test_a_pointer_that_cannot_be_written_leaves_the_state_file(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "state-is-a-file"
    not_a_directory.write_text("")

    publication = publish(engine_state(tmp_path / "data"), {"XDG_STATE_HOME": str(not_a_directory)})

    assert publication.pointer is None
    assert publication.state_file.exists()
    publication.withdraw()
    assert not publication.state_file.exists()
