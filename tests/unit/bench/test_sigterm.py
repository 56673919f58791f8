"""A bench killed with SIGTERM still stops the stack it started (its ``finally`` runs)."""

from __future__ import annotations

import os
import signal

import pytest

from bench.__main__ import exit_on_sigterm


def _run_until_killed(stopped: list[str]) -> None:
    """What the runner does: the stack is stopped in a ``finally``."""
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        stopped.append("stack stopped")


def test_sigterm_unwinds_through_finally() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    stopped: list[str] = []
    try:
        exit_on_sigterm()
        with pytest.raises(SystemExit) as ended:
            _run_until_killed(stopped)
        assert ended.value.code == 128 + signal.SIGTERM
        assert stopped == ["stack stopped"]
    finally:
        signal.signal(signal.SIGTERM, previous)
