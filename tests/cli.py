"""Running `checkout-engine` as a subprocess, the way people and scripts do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a newcomer's fresh shell does not have set.
UNCONFIGURED = (
    "DATABASE_URL",
    "CHECKOUT_JWT_SECRET",
    "CHECKOUT_DATA_DIR",
    "KAFKA_BOOTSTRAP_SERVERS",
)


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def with_database(database_url: str) -> dict[str, str]:
    """The environment of an operator whose DATABASE_URL names this database."""
    return {**os.environ, "DATABASE_URL": database_url}


def newcomer_cli(
    *args: str, cwd: Path, state_home: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """A command typed in another terminal and directory, with nothing configured."""
    environment = {k: v for k, v in os.environ.items() if k not in UNCONFIGURED}
    environment.update({"XDG_STATE_HOME": str(state_home), "PYTHONPATH": str(REPO), **env})
    return run_cli(*args, env=environment, cwd=cwd)
