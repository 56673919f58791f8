"""Crash points: armed by name in the environment, they kill the process as `kill -9` does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from application.crash_points import ENVIRONMENT_VARIABLE, POINTS, parse

PASS_POINT_THREE_TIMES = """
from application.crash_points import crash_point
for n in range(3):
    print("pass", n, flush=True)
    crash_point("relay.before_save")
print("survived", flush=True)
"""


def run_child(spec: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENVIRONMENT_VARIABLE: spec}
    return subprocess.run(
        [sys.executable, "-c", PASS_POINT_THREE_TIMES],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_counts_and_names_are_parsed() -> None:
    assert parse("relay.before_save@2, events.in_transaction") == {
        "relay.before_save": 2,
        "events.in_transaction": 1,
    }
    assert parse("") == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("relay.nowhere", "unknown crash point"),
        ("relay.before_save@0", "at least 1"),
        ("relay.before_save@x", "invalid literal"),
    ],
)
def test_unknown_points_and_bad_counts_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(spec)


def test_an_armed_point_kills_the_process_on_its_nth_pass() -> None:
    child = run_child("relay.before_save@2")
    assert child.returncode == -signal.SIGKILL
    assert child.stdout.split("\n")[:2] == ["pass 0", "pass 1"]
    assert "survived" not in child.stdout
    assert '"point": "relay.before_save"' in child.stderr


def test_a_point_armed_beyond_its_passes_or_not_at_all_changes_nothing() -> None:
    for spec in ("relay.before_save@4", "projector.before_commit", ""):
        child = run_child(spec)
        assert child.returncode == 0, child.stderr
        assert "survived" in child.stdout


def test_every_point_describes_where_it_is() -> None:
    assert all(description for description in POINTS.values())
