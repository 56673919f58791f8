"""The README's curl walkthrough, pasted as is into a shell next to `checkout-engine run`."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_run_command import REPO, Run, _end, _ready, run_environment, start_run
from tests.waiting import wait_until

MARKED = re.compile(
    r"<!-- walkthrough:start -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", re.S
)


def walkthrough() -> str:
    found = MARKED.search((REPO / "README.md").read_text())
    assert found, "the README marks its walkthrough"
    return found.group(1)


@pytest.fixture
def short_window_run(
    data_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Run]:
    env = run_environment(data_dir, tmp_path / "state", request)
    env["PAYMENT_TTL_SECONDS"] = "15"
    run = start_run(env, tmp_path / "run.stderr")
    try:
        wait_until(lambda: _ready(run.base), timeout=90, interval=0.2, what="/readyz 200")
        yield run
    finally:
        _end(run.process)


def test_the_walkthrough_runs_end_to_end(short_window_run: Run) -> None:
    env = {
        **os.environ,
        "CHECKOUT_DATA_DIR": short_window_run.env["CHECKOUT_DATA_DIR"],
        "XDG_STATE_HOME": short_window_run.env["XDG_STATE_HOME"],
        "API": short_window_run.base,
        "SANDBOX": f"http://127.0.0.1:{short_window_run.env['SANDBOX_PORT']}",
        "WATCH_EXPIRY": "yes",
    }
    for name in ("DATABASE_URL", "CHECKOUT_JWT_SECRET"):
        env.pop(name, None)  # found from the running engine, as a newcomer's shell would

    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", walkthrough()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "walkthrough done"
    assert "PENDING_PAYMENT" in lines
    assert any(line.startswith("card_declined") for line in lines)
    assert "CANCELLED" in lines
    assert "canceled" in lines
    assert "True" in lines  # the Razorpay proof verified
    assert "payment window expired" in lines
    # Manual capture: authorized, captured once (202), a second capture refused (409).
    assert "requires_capture" in lines
    assert [line for line in lines if line in ("202", "409")] == ["202", "409"]
    # Reconciliation: the lost capture applied, the mismatch resolved by a person.
    assert any("missed_capture 1" in line for line in lines)
    assert any("amount_mismatch 1" in line for line in lines)
    assert "resolved" in lines
    assert "2" in lines  # the order's history: the discrepancy found, then resolved
    refund_line = next(line for line in lines if "one mug arrived chipped" in line)
    assert "admin:ops" in refund_line, "the history names who asked for the refund"
    refund_ids = [line for line in lines if re.fullmatch(r"[0-9a-f-]{36}", line)]
    assert len(refund_ids) >= 2
    assert len(set(refund_ids[-2:])) == 1, "the retried refund answered the same refund"
