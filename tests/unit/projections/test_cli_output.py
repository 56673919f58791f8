"""What `projections status` and `projections rebuild` print."""

from __future__ import annotations

import pytest

from entrypoints.cli.projections import decile_progress, format_status
from projections.runner import ProjectionStatus


def test_status_is_an_aligned_table() -> None:
    table = format_status(
        [
            ProjectionStatus("orders", 120, 125, 5, 1.25),
            ProjectionStatus("payments", 125, 125, 0, 0.0),
        ]
    )
    assert table.splitlines() == [
        "name      position  head  lag events  lag seconds",
        "orders    120       125   5           1.2",
        "payments  125       125   0           0.0",
    ]


def test_rebuild_progress_prints_a_line_per_tenth(capsys: pytest.CaptureFixture[str]) -> None:
    report = decile_progress("orders")
    for done in range(0, 1001, 50):
        report(done, 1000)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "rebuilding orders: 0% (0/1000)"
    assert lines[-1] == "rebuilding orders: 100% (1000/1000)"
    assert len(lines) == 11


def test_an_empty_log_is_done_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    decile_progress("payments")(0, 0)
    assert capsys.readouterr().err == "rebuilding payments: 100% (0/0)\n"
