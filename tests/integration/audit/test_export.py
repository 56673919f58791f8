"""`checkout-engine audit export`: JSON Lines that validate against their schema (adr/0015)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import Container
from projections.schema import audit_chain
from tests.cli import REPO, run_cli, with_database
from tests.integration.audit.history_shop import REFUND_ACTOR, RefundedOrder, refunded_order
from tests.integration.shop import Shop

SCHEMA = json.loads((REPO / "schemas" / "audit.export.v1.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


@pytest.fixture
def refunded(container: Container, db: Engine, shop: Shop) -> RefundedOrder:
    return refunded_order(container, shop)


def export(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("audit", "export", *args, env=with_database(database_url))


def lines_of(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        errors = [e.message for e in VALIDATOR.iter_errors(line)]
        assert errors == [], (line, errors)
    return lines


def test_the_whole_log_exports_in_order_and_validates(
    database_url: str, container: Container, refunded: RefundedOrder
) -> None:
    result = export(database_url)
    lines = lines_of(result)
    head = container.app.head_position()
    assert [line["position"] for line in lines] == list(range(1, head + 1))
    [refund] = [line for line in lines if line["event"] == "Payment.RefundRequested"]
    assert refund["actor"] == REFUND_ACTOR
    assert refund["originatorId"] == str(refunded.payment_id)
    assert f"exported {head} events" in result.stderr  # the progress line


def test_one_order_exports_its_streams_and_stock_movements(
    database_url: str, container: Container, shop: Shop, refunded: RefundedOrder
) -> None:
    shop.place()  # another order, not in this export
    lines = lines_of(export(database_url, "--order", str(refunded.order_id)))
    streams = {str(refunded.order_id), str(refunded.payment_id)}
    stock = [line for line in lines if line["stream"] == "stock"]
    assert {line["event"] for line in stock} == {"Stock.Reserved", "Stock.Committed"}
    assert all(line["data"]["order_id"] == str(refunded.order_id) for line in stock)
    assert {line["originatorId"] for line in lines} - streams == {
        line["originatorId"] for line in stock
    }
    assert [line["position"] for line in lines] == sorted(line["position"] for line in lines)


def test_since_and_until_bound_the_events_times(database_url: str, refunded: RefundedOrder) -> None:
    after = lines_of(export(database_url, "--since", refunded.paid_at.isoformat()))
    assert "Payment.RefundRequested" in {line["event"] for line in after}
    assert "Order.Created" not in {line["event"] for line in after}
    before = lines_of(export(database_url, "--until", refunded.paid_at.isoformat()))
    assert "Payment.RefundRequested" not in {line["event"] for line in before}
    assert "Order.Confirmed" in {line["event"] for line in before}


def test_each_line_carries_its_chain_link_when_there_is_one(
    database_url: str, db: Engine, refunded: RefundedOrder
) -> None:
    lines = lines_of(export(database_url, "--order", str(refunded.order_id)))
    assert {line["link"] for line in lines} == {None}  # no chain follower ran
    first = lines[0]
    link = "ab" * 32
    with db.begin() as conn:
        conn.execute(
            sa.insert(audit_chain).values(
                notification_id=first["position"],
                originator_id=uuid.UUID(first["originatorId"]),
                originator_version=first["version"],
                topic="test",
                link=link,
            )
        )
    again = lines_of(export(database_url, "--order", str(refunded.order_id)))
    assert again[0]["link"] == link
    assert [line["link"] for line in again[1:]] == [None] * (len(again) - 1)


def test_it_writes_to_a_file_as_the_shell_redirects_it(
    database_url: str, tmp_path: Path, refunded: RefundedOrder
) -> None:
    path = tmp_path / "audit.jsonl"
    with path.open("w") as file:
        done = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "audit", "export"],
            stdout=file,
            env=with_database(database_url),
            capture_output=False,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert all(VALIDATOR.is_valid(json.loads(line)) for line in path.read_text().splitlines())


def test_an_unknown_order_exits_1_and_bad_times_exit_2(database_url: str, db: Engine) -> None:
    unknown = export(database_url, "--order", str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "no order" in unknown.stderr
    assert export(database_url, "--since", "soon").returncode == 2
    backwards = export(
        database_url, "--since", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z"
    )
    assert backwards.returncode == 2
