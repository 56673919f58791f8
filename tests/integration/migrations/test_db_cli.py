"""`checkout-engine db upgrade` and `db current` against a real database."""

from __future__ import annotations

import subprocess

from projections.migrations import head_revision
from tests.cli import run_cli, with_database


def db(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("db", *args, env=with_database(database_url))


def test_upgrade_on_a_fresh_database_then_current_prints_the_head(database_url: str) -> None:
    before = db(database_url, "current")
    assert before.returncode == 0, before.stderr
    assert before.stdout == "none\n"

    upgraded = db(database_url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database upgraded from none to {head_revision()} (head)\n"

    again = db(database_url, "upgrade")
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"database already at {head_revision()} (head)\n"

    current = db(database_url, "current")
    assert current.returncode == 0, current.stderr
    assert current.stdout == f"{head_revision()} (head)\n"


def test_bad_arguments_exit_2_with_one_line(database_url: str) -> None:
    result = db(database_url, "downgrade")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("checkout-engine: error: ")


def test_an_unreachable_database_is_one_line(database_url: str) -> None:
    result = db("postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2", "upgrade")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("checkout-engine: error: database: ")


def test_help_needs_no_database() -> None:
    result = db("postgresql://nobody@127.0.0.1:9/nowhere", "upgrade", "--help")
    assert result.returncode == 0, result.stderr
    assert "Apply the migrations" in result.stdout
