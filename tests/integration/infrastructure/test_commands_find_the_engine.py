"""`catalog load`, `db`, `projections`, `followers` and `webhooks` work on the running
engine's database when nothing is configured, from any directory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from application.application import CheckoutApplication
from domain import Product
from entrypoints.running_engine import EngineState, process_start, publish
from projections.migrations import head_revision
from tests.cli import newcomer_cli

REPO = Path(__file__).resolve().parents[3]
MUG = {"sku": "MUG", "name": "Mug", "vendorId": "v1", "unitAmount": 1250, "currency": "USD"}


@pytest.fixture
def engine_running(database_url: str, tmp_path: Path) -> Path:
    """What `run` would have published for an engine on `database_url` (this live process)."""
    state_home = tmp_path / "state"
    publish(
        EngineState(
            pid=os.getpid(),
            data_dir=str(tmp_path / "repo" / ".data"),
            api_url="http://127.0.0.1:8000",
            database_url=database_url,
            kafka_bootstrap_servers="127.0.0.1:9092",
            jwt_secret="s" * 40,
            sandbox_url=None,
            process_start=process_start(os.getpid()),
        ),
        {"XDG_STATE_HOME": str(state_home)},
    )
    return state_home


def cli(state_home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return newcomer_cli(*args, cwd=cwd, state_home=state_home)


def test_the_commands_work_on_the_running_engines_database(
    engine_running: Path, app: CheckoutApplication, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    catalog = elsewhere / "catalog.json"
    catalog.write_text(json.dumps([{**MUG, "stock": 3}]))

    upgraded = cli(engine_running, elsewhere, "db", "upgrade")
    loaded = cli(engine_running, elsewhere, "catalog", "load", str(catalog))
    current = cli(engine_running, elsewhere, "db", "current")
    status = cli(engine_running, elsewhere, "projections", "status")
    followers = cli(engine_running, elsewhere, "followers", "status")
    webhooks = cli(engine_running, elsewhere, "webhooks", "list", "--json")

    for result in (upgraded, loaded, current, status, followers, webhooks):
        assert result.returncode == 0, result.stderr
    assert "1 created" in loaded.stdout
    assert current.stdout == f"{head_revision()} (head)\n"
    assert status.stdout.startswith("name")
    assert followers.stdout.startswith("orders")
    assert json.loads(webhooks.stdout) == {"items": [], "nextCursor": None}
    assert not (elsewhere / ".data").exists(), "no second embedded PostgreSQL"
    assert app.load(Product, Product.id_for("MUG")).unit_amount == 1250
