"""`checkout-engine audit order ORDER_ID` and `audit export` (adr/0015).

``order`` prints an order's whole history in time order (infrastructure.audit.history);
``--at`` adds the order and payment as their events left them at that instant, ``--json``
prints the raw form, ``--evidence`` the providers' payloads. An unknown order exits 1; a
malformed argument exits 2. ``export`` writes events with their actors, evidence
references and chain links as JSON Lines to stdout (schemas/audit.export.v1.json), with a
progress line on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import click

from application.errors import OrderNotFound
from entrypoints.bootstrap import Container, Services
from entrypoints.running_engine import data_dir_option

EXIT_NOT_FOUND = 1
PROGRESS_EVERY_S = 1.0


class Instant(click.ParamType[datetime, Any]):
    """An ISO 8601 time with its offset, such as 2026-11-21T14:02:00Z. One without an offset
    is refused, as the API refuses it: a bare time would be read in a zone nobody chose."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time like 2026-11-21T14:02:00Z", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no offset: add Z or +hh:mm", param, ctx)
        return moment


INSTANT = Instant()


@contextmanager
def audit_container(ctx: click.Context) -> Iterator[Container]:
    """The engine's graph on DATABASE_URL (else the running engine's), tables upgraded."""
    from entrypoints.cli import settings_or_exit

    settings = settings_or_exit()
    lookup = ctx.obj["database_url"] if isinstance(ctx.obj, dict) else None
    url = str(lookup() if callable(lookup) else lookup)
    container = Container(settings, Services(url, "", ""), pool_size=2)
    try:
        container.upgrade_database()  # the index, the chain and the inbox (adr/0012)
        yield container
    finally:
        container.close()


def _not_found(exc: OrderNotFound) -> None:
    from entrypoints.cli import fail

    fail(f"no order {exc.order_id}", EXIT_NOT_FOUND)


# -- the text form --------------------------------------------------------------------------


def _entry_line(entry: dict[str, Any]) -> str:
    # "#3" is the event's place in its stream; "v2" the version of its recorded shape.
    place = f" #{entry['version']}" if entry["version"] is not None else ""
    schema = entry["data"].get("schemaVersion")
    name = f"{entry['name']}{place}{f' v{schema}' if schema is not None else ''}"
    refs = (
        f"  [evidence {', '.join(d[:12] for d in entry['evidence'])}]" if entry["evidence"] else ""
    )
    columns = f"{entry['time']}  {entry['kind']:<13} {name:<36} {entry['actor']:<22}"
    return f"{columns} {entry['summary']}{refs}"


def _state_lines(state: dict[str, Any]) -> list[str]:
    lines = [f"state at {state['at']}, rebuilt from the events:"]
    order, payment = state["order"], state["payment"]
    if order is None:
        return [*lines, "  the order did not exist yet"]
    lines.append(
        f"  order {order['status']}: {order['amount']} {order['currency']}, "
        f"refunded {order['refundedTotal']} (version {order['version']})"
    )
    if payment is None:
        lines.append("  payment: did not exist yet")
    else:
        lines.append(
            f"  payment {payment['status']}: captured {payment['capturedAmount']}, "
            f"refunded {payment['refundedAmount']} {payment['currency']} "
            f"(version {payment['version']})"
        )
    return lines


def format_history(document: dict[str, Any]) -> str:
    lines = [f"order {document['orderId']} (payment {document['paymentId']})"]
    lines += [_entry_line(entry) for entry in document["entries"]]
    if document["state"] is not None:
        lines += ["", *_state_lines(document["state"])]
    if document["evidence"]:
        lines += ["", "evidence:"]
        for record in document["evidence"]:
            lines.append(
                f"- {record['digest']} {record['kind']} {record['provider']} "
                f"{record['objectId'] or ''} recorded {record['recordedAt']}"
            )
            lines += [f"    {line}" for line in str(record["body"]).splitlines()]
    return "\n".join(lines)


@click.command("order", short_help="An order's whole history; its state at an instant.")
@click.argument("order_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True, help="The raw form, as one JSON document.")
@click.option("--at", type=INSTANT, help="Also the order and payment as they were then.")
@click.option("--evidence", is_flag=True, help="Include the providers' raw payloads.")
@data_dir_option
@click.pass_context
def order(
    ctx: click.Context, order_id: UUID, as_json: bool, at: datetime | None, evidence: bool
) -> None:
    """The complete, time-ordered history of ORDER_ID: its events, its payment's, the stock
    movements it caused, webhooks, provider calls and Kafka publications (topic, ce_id),
    each with its time, actor, name and version. Exit 1 when there is no such order."""
    with audit_container(ctx) as container:
        try:
            history = container.order_histories.history(order_id, at, evidence=evidence)
        except OrderNotFound as exc:
            _not_found(exc)
            return
    document = history.to_json()
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(format_history(document))


# -- the export -----------------------------------------------------------------------------


def export_progress() -> Callable[[int, int, int], None]:
    """A stderr line at most once a second, and one at the end."""
    shown = [0.0]

    def report(done: int, position: int, head: int) -> None:
        now = time.monotonic()
        if now - shown[0] >= PROGRESS_EVERY_S or position >= head:
            shown[0] = now
            percent = 100 if head <= 0 else min(100, position * 100 // head)
            click.echo(
                f"exported {done} events: {percent}% of the log ({position}/{head})", err=True
            )

    return report


@click.command("export", short_help="Events with actors and evidence, as JSON Lines.")
@click.option("--since", type=INSTANT, help="Events at or after this time.")
@click.option("--until", type=INSTANT, help="Events at or before this time.")
@click.option("--order", "order_id", type=click.UUID, help="Only this order's events.")
@data_dir_option
@click.pass_context
def export(
    ctx: click.Context, since: datetime | None, until: datetime | None, order_id: UUID | None
) -> None:
    """Stream events with their actors, evidence references and chain links to stdout as
    JSON Lines (schemas/audit.export.v1.json); progress goes to stderr."""
    if since is not None and until is not None and since > until:
        raise click.BadParameter("must not be after --until", param_hint="--since")
    count = 0
    with audit_container(ctx) as container:
        try:
            lines = container.audit_export.lines(since, until, order_id, export_progress())
            for line in lines:
                sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
                sys.stdout.write("\n")
                count += 1
        except OrderNotFound as exc:
            _not_found(exc)
    sys.stdout.flush()
    click.echo(f"exported {count} events", err=True)
