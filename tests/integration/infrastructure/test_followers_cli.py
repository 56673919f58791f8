"""`checkout-engine followers status|skip|retry` against a real database."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy.engine import Engine

from projections.dead_letters import DeadLetters
from projections.tracking import position
from tests.cli import run_cli, with_database


def followers(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("followers", *args, env=with_database(database_url))


def test_status_skip_and_retry(database_url: str, db: Engine) -> None:
    letters = DeadLetters(db)
    letters.record("payments", 42, "domain.payment:Payment.Succeeded", uuid.uuid4(), 3, "boom")

    status = followers(database_url, "status")
    assert status.returncode == 0, status.stderr
    [line] = [line for line in status.stdout.splitlines() if line.startswith("payments")]
    assert "STOPPED at 42" in line
    assert "boom" in line

    skipped = followers(
        database_url, "skip", "payments", "42", "--reason", "bad test data", "--by", "ann"
    )
    assert skipped.returncode == 0, skipped.stderr
    assert position(db, "payments") == 42
    decided = letters.get("payments", 42)
    assert decided is not None
    assert (decided.resolution, decided.resolved_by, decided.resolution_reason) == (
        "skipped",
        "ann",
        "bad test data",
    )

    letters.record("catalog", 7, "domain.catalog:Product.Registered", None, None, "bug")
    retried = followers(database_url, "retry", "catalog", "--by", "bob")
    assert retried.returncode == 0, retried.stderr
    assert letters.unresolved() == []


@pytest.mark.parametrize(
    "args",
    [
        ("skip", "payments", "42", "--reason", "nothing is stopped there"),
        ("skip", "nosuch", "1", "--reason", "x"),
        ("skip", "payments", "0", "--reason", "x"),
        ("skip", "payments", "42"),
        ("retry", "orders"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(database_url: str, args: tuple[str, ...]) -> None:
    result = followers(database_url, *args)
    assert result.returncode == 2, result.stdout
    assert len([line for line in result.stderr.splitlines() if "error" in line.lower()]) == 1
