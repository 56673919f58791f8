"""Commands that need the engine find the running one, or fail saying so.

They never start an embedded PostgreSQL of their own: a second one would be a second,
empty shop, and tokens signed with a second secret.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jwt
import pytest

from entrypoints.running_engine import EngineState, process_start, publish
from tests.cli import newcomer_cli

SECRET = "running-engine-secret-that-is-long-enough-0123456789"
MUG = {"sku": "M", "name": "Mug", "vendorId": "v", "unitAmount": 1, "currency": "USD", "stock": 1}
REPO = Path(__file__).resolve().parents[3]


def run_cli(
    *args: str, cwd: Path, state_home: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return newcomer_cli(*args, cwd=cwd, state_home=state_home, **env)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def running_engine(data_dir: Path, state_home: Path) -> EngineState:
    """A state file as `run` writes it, for a live process (this one)."""
    state = EngineState(
        pid=os.getpid(),
        data_dir=str(data_dir),
        api_url="http://127.0.0.1:8000",
        database_url="postgresql://u@127.0.0.1:9/nowhere",
        kafka_bootstrap_servers="127.0.0.1:9092",
        jwt_secret=SECRET,
        sandbox_url=None,
        process_start=process_start(os.getpid()),
    )
    publish(state, {"XDG_STATE_HOME": str(state_home)})
    return state


@pytest.mark.parametrize(
    "args",
    [
        ("token", "--sub", "alice"),
        ("catalog", "load", "CATALOG"),
        ("db", "upgrade"),
        ("db", "current"),
        ("projections", "status"),
        ("projections", "rebuild", "orders"),
        ("followers", "status"),
        ("followers", "retry", "orders"),
    ],
)
def test_with_no_engine_running_a_command_fails_in_one_line(
    tmp_path: Path, elsewhere: Path, args: tuple[str, ...]
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([MUG]))
    args = tuple(str(catalog) if arg == "CATALOG" else arg for arg in args)

    result = run_cli(*args, cwd=elsewhere, state_home=tmp_path / "state")

    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "error" in line]
    assert line.startswith("checkout-engine: error: no running engine found (looked for ")
    assert "`checkout-engine run`" in line
    assert "CHECKOUT_DATA_DIR" in line
    assert not (elsewhere / ".data").exists(), "no embedded PostgreSQL was started"


def test_token_is_signed_with_the_running_engines_secret(tmp_path: Path, elsewhere: Path) -> None:
    running_engine(tmp_path / "repo" / ".data", tmp_path / "state")

    result = run_cli("token", "--sub", "alice", cwd=elsewhere, state_home=tmp_path / "state")

    assert result.returncode == 0, result.stderr
    assert jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "alice"
    assert not (elsewhere / ".data").exists()


def test_a_data_dir_names_the_engine(tmp_path: Path, elsewhere: Path) -> None:
    data_dir = tmp_path / "repo" / ".data"
    running_engine(data_dir, tmp_path / "state")
    no_pointer = tmp_path / "no-state"

    by_option = run_cli(
        "token", "--sub", "a", "--data-dir", str(data_dir), cwd=elsewhere, state_home=no_pointer
    )
    by_variable = run_cli(
        "token", "--sub", "a", cwd=elsewhere, state_home=no_pointer, CHECKOUT_DATA_DIR=str(data_dir)
    )
    before_the_command = run_cli(
        "--data-dir", str(data_dir), "token", "--sub", "a", cwd=elsewhere, state_home=no_pointer
    )

    for result in (by_option, by_variable, before_the_command):
        assert result.returncode == 0, result.stderr
        jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])


def test_a_configured_secret_wins(tmp_path: Path, elsewhere: Path) -> None:
    running_engine(tmp_path / ".data", tmp_path / "state")
    mine = "configured-secret-that-is-long-enough-0123456789"

    result = run_cli(
        "token",
        "--sub",
        "a",
        cwd=elsewhere,
        state_home=tmp_path / "state",
        CHECKOUT_JWT_SECRET=mine,
    )

    assert result.returncode == 0, result.stderr
    jwt.decode(result.stdout.strip(), mine, algorithms=["HS256"])


def test_commands_use_the_running_engines_database(tmp_path: Path, elsewhere: Path) -> None:
    running_engine(tmp_path / ".data", tmp_path / "state")

    result = run_cli("db", "current", cwd=elsewhere, state_home=tmp_path / "state")

    # The recorded database is unreachable on purpose: the error names it, not a new one.
    assert result.returncode == 1
    assert result.stderr.startswith("checkout-engine: error: database: ")
    assert "127.0.0.1" in result.stderr
