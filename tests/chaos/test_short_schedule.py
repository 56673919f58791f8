"""The short, fixed-seed chaos schedule `make test` runs: at least 50 crashes of the real
roles (kill -9 and armed crash points), PostgreSQL connections cut and the server restarted,
the broker frozen, the provider failing; then every invariant holds and the stack converges.

`make chaos SEED=… CRASHES=1000` runs the long one (tests/chaos/__main__.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.chaos.run import ChaosOptions, run_chaos, summary, write_report
from tests.chaos.stack import ROLES

SEED = int(os.environ.get("CHECKOUT_CHAOS_SEED", "20261201"))
CRASHES = 50


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_short_schedule_of_crashes_breaks_no_invariant(tmp_path: Path) -> None:
    result = run_chaos(ChaosOptions(SEED, CRASHES, tmp_path / "stack"))
    report = result.report
    write_report(report, tmp_path / "report.json")
    explained = summary(report) + "\n" + json.dumps(report["violations"][:20], indent=1)

    assert report["crashes"] >= CRASHES, explained
    assert set(report["crashes_by_role"]) >= set(ROLES), explained
    fired = {kind for kinds in report["crashes_by_role"].values() for kind in kinds}
    assert len([kind for kind in fired if kind.startswith("point:")]) >= 3, explained
    assert result.converged, f"still moving: {report['still_moving']}\n{explained}"
    assert report["violations"] == [], explained
    assert report["operations"].get("checkout", 0) >= 10, explained
    assert report["examined"], explained
