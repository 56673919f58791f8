"""`checkout-engine audit order` and the history it prints, on a real database (adr/0015)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import Container
from infrastructure.relay import cloud_event_id
from tests.cli import run_cli, with_database
from tests.integration.audit.history_shop import (
    REFUND_ACTOR,
    REFUND_AMOUNT,
    REFUND_REASON,
    RefundedOrder,
    refunded_order,
)
from tests.integration.shop import Shop


@pytest.fixture
def refunded(container: Container, db: Engine, shop: Shop) -> RefundedOrder:
    return refunded_order(container, shop)


def audit(database_url: str, *args: str) -> dict[str, Any]:
    result = run_cli("audit", "order", *args, "--json", env=with_database(database_url))
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_history_shows_checkout_payment_refund_stock_and_publications(
    database_url: str, refunded: RefundedOrder
) -> None:
    document = audit(database_url, str(refunded.order_id))
    entries = document["entries"]
    assert isinstance(entries, list)
    names = [e["name"] for e in entries if e["kind"] == "event"]
    for expected in (
        "Order.Created",
        "Payment.Initiated",
        "Payment.Succeeded",
        "Order.Confirmed",
        "Payment.RefundRequested",
        "Payment.RefundCompleted",
        "Order.Refunded",
    ):
        assert expected in names
    times = [e["time"] for e in entries]
    assert times == sorted(times)

    [refund] = [e for e in entries if e["name"] == "Payment.RefundRequested"]
    assert refund["actor"] == REFUND_ACTOR
    assert REFUND_REASON in refund["summary"]
    assert refund["data"]["amount"] == REFUND_AMOUNT
    assert refund["stream"] == "payment"
    assert refund["version"] >= 2

    stock = [e for e in entries if e["stream"] == "stock" and e["kind"] == "event"]
    assert {e["name"] for e in stock} == {"Stock.Reserved", "Stock.Committed"}
    assert len(stock) == 4  # two skus, each reserved then committed
    assert any("MUG-1" in e["summary"] for e in stock)

    publications = {e["data"]["topic"]: e for e in entries if e["kind"] == "publication"}
    assert set(publications) == {"orders.confirmed", "orders.refunded"}
    for publication in publications.values():
        assert publication["data"]["ceId"] == cloud_event_id(
            refunded.order_id, publication["version"]
        )
        assert publication["data"]["published"] is False  # no relay ran
    assert document["state"] is None


def test_the_text_form_names_time_actor_event_and_version(
    database_url: str, refunded: RefundedOrder
) -> None:
    result = run_cli("audit", "order", str(refunded.order_id), env=with_database(database_url))
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "Payment.RefundRequested" in line]
    assert REFUND_ACTOR in line
    assert REFUND_REASON in line
    # Its place in the payment's stream, then the version of its recorded shape.
    assert re.search(r"Payment\.RefundRequested #\d+ v2\b", line), line
    assert "orders.confirmed ce_id" in result.stdout


def test_at_a_time_between_payment_and_refund_shows_the_paid_order(
    database_url: str, refunded: RefundedOrder
) -> None:
    at = refunded.paid_at.isoformat()
    document = audit(database_url, str(refunded.order_id), "--at", at)
    state = document["state"]
    assert isinstance(state, dict)
    assert state["existed"] is True
    assert state["order"]["status"] == "PAYMENT_CONFIRMED"
    assert state["order"]["refundedTotal"] == 0
    assert state["payment"]["status"] == "succeeded"
    assert state["payment"]["refundedAmount"] == 0
    assert state["payment"]["refunds"] == {}
    # The history itself is whole, whatever the instant.
    assert any(e["name"] == "Order.Refunded" for e in document["entries"])


def test_before_the_order_existed_it_did_not_exist_yet(
    database_url: str, refunded: RefundedOrder
) -> None:
    args = (str(refunded.order_id), "--at", "2000-01-01T00:00:00Z")
    document = audit(database_url, *args)
    state = document["state"]
    assert isinstance(state, dict)
    assert (state["existed"], state["order"], state["payment"]) == (False, None, None)
    text = run_cli("audit", "order", *args, env=with_database(database_url))
    assert text.returncode == 0, text.stderr
    assert "did not exist yet" in text.stdout


def test_an_unknown_order_exits_1(database_url: str, db: Engine) -> None:
    unknown = str(uuid.uuid4())
    result = run_cli("audit", "order", unknown, env=with_database(database_url))
    assert result.returncode == 1
    assert f"no order {unknown}" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ("--at", "yesterday"),
        ("--at", "2026-13-01T00:00:00Z"),
        ("--at", "2026-11-21T14:02:00"),  # no offset: refused, as the API refuses it
        ("not-a-uuid",),
    ],
)
def test_malformed_arguments_exit_2(
    database_url: str, refunded: RefundedOrder, args: tuple[str, ...]
) -> None:
    order = [] if args == ("not-a-uuid",) else [str(refunded.order_id)]
    result = run_cli("audit", "order", *order, *args, env=with_database(database_url))
    assert result.returncode == 2, result.stderr
