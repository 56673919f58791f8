"""`checkout-engine webhooks list|replay|dismiss` against a real database, as an operator
types them while the engine runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.parked_webhooks import ListedStatus
from domain import OrderStatus
from infrastructure.webhooks.inbox import WebhookInbox
from projections.schema import webhook_inbox
from tests.cli import newcomer_cli, run_cli, with_database
from tests.integration.shop import Shop
from tests.integration.webhooks.conftest import Provider


def webhooks(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("webhooks", *args, env=with_database(database_url))


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    [line] = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    return line


def _row(db: Engine, webhook_id: int) -> dict[str, object]:
    with db.connect() as conn:
        query = sa.select(webhook_inbox).where(webhook_inbox.c.id == webhook_id)
        return dict(conn.execute(query).mappings().one())


def test_a_failed_webhook_is_listed_then_replayed_from_the_command_line(
    database_url: str, db: Engine, provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("razorpay")
    provider.open_at_provider(placed, "order_Cli")
    money = {"amount": placed.payment.amount, "currency": placed.payment.currency}
    captured = {"id": "pay_Cli", "order_id": "order_Cli", "notes": []} | money
    failed = provider.razorpay("payment.captured", payment=captured).entry

    listed = webhooks(database_url, "list", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.split()[:3] == [str(failed.id), "razorpay", "failed"]
    assert "PaymentNotYetKnown" in line
    as_json = webhooks(database_url, "list", "--status", "failed", "--json")
    assert as_json.returncode == 0, as_json.stderr
    [item] = json.loads(as_json.stdout)["items"]
    assert item["webhookId"] == failed.id
    assert json.loads(item["body"])["payload"]["payment"]["entity"]["id"] == "pay_Cli"
    assert webhooks(database_url, "list", "--status", "pending").stdout == ""

    provider.project_payments()  # the cause: the payments view catches up
    replayed = webhooks(
        database_url, "replay", str(failed.id), "--reason", "caught up", "--by", "ann"
    )

    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.split()[:3] == [str(failed.id), "razorpay", "processed"]
    row = _row(db, failed.id)
    assert (row["status"], row["replayed_by"], row["replayed_reason"]) == (
        "processed",
        "cli:ann",
        "caught up",
    )
    assert shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    again = webhooks(database_url, "replay", str(failed.id))
    assert again.returncode == 1, again.stdout
    assert "already applied (processed)" in _one_error_line(again)


def test_a_webhook_is_dismissed_with_who_and_why(
    database_url: str, db: Engine, inbox: WebhookInbox
) -> None:
    entry = inbox.accept("stripe", "evt_cli", "charge.refunded", b"{}", {}).entry
    assert inbox.fail(entry, "ConnectionError: hiccup", retry_in=0.0)

    dismissed = webhooks(
        database_url, "dismiss", str(entry.id), "--reason", "a test event", "--by", "bob"
    )

    assert dismissed.returncode == 0, dismissed.stderr
    assert "dismissed by cli:bob: a test event" in dismissed.stdout
    row = _row(db, entry.id)
    assert (row["status"], row["dismissed_by"], row["dismissed_reason"]) == (
        "dismissed",
        "cli:bob",
        "a test event",
    )
    assert row["next_attempt_at"] is None
    assert inbox.claim() is None, "the sweeper never takes it"
    listed = webhooks(database_url, "list", "--status", ListedStatus.DISMISSED.value)
    assert listed.stdout.split()[:3] == [str(entry.id), "stripe", "dismissed"]
    twice = webhooks(database_url, "dismiss", str(entry.id), "--reason", "again")
    assert twice.returncode == 1, twice.stdout
    assert "was dismissed by cli:bob" in _one_error_line(twice)
    assert _row(db, entry.id) == row


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("dismiss", "1"), 2),
        (("dismiss", "abc", "--reason", "x"), 2),
        (("dismiss", "0", "--reason", "x"), 2),
        (("dismiss", "1", "--reason", "  "), 2),
        (("dismiss", "1", "--reason", "x" * 501), 2),
        (("replay", "1", "--reason", ""), 2),
        (("replay", "1", "--by", ""), 2),
        (("list", "--status", "processed"), 2),
        (("list", "--limit", "0"), 2),
        (("list", "--cursor", "nope"), 2),
        (("replay", "424242"), 1),
        (("dismiss", "424242", "--reason", "x"), 1),
    ],
)
def test_bad_arguments_and_unknown_rows_exit_with_one_line(
    database_url: str, db: Engine, inbox: WebhookInbox, args: tuple[str, ...], code: int
) -> None:
    entry = inbox.accept("stripe", "evt_bad", "charge.refunded", b"{}", {}).entry
    assert inbox.fail(entry, "boom", retry_in=None)
    before = _row(db, entry.id)

    result = webhooks(database_url, *args)

    assert result.returncode == code, result.stdout
    assert _one_error_line(result)
    assert _row(db, entry.id) == before


def test_with_no_database_configured_and_no_engine_running_exit_2(tmp_path: Path) -> None:
    result = newcomer_cli("webhooks", "list", cwd=tmp_path, state_home=tmp_path / "state")

    assert result.returncode == 2, result.stdout
    assert "no running engine found" in _one_error_line(result)


def test_the_event_types_to_subscribe_to_are_printed_one_per_line(tmp_path: Path) -> None:
    """Needs no database: an operator runs it while setting up the provider's dashboard."""
    result = newcomer_cli("webhooks", "events", "stripe", cwd=tmp_path, state_home=tmp_path)

    assert result.returncode == 0, result.stderr
    printed = result.stdout.split()
    assert "payment_intent.succeeded" in printed
    assert "payment_intent.created" not in printed
    assert printed == sorted(printed)
