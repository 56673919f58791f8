"""`checkout-engine webhooks list|replay|dismiss|events` (registered by the main CLI;
adr/0025).

The operator's side of the webhook inbox, as ``GET /admin/webhooks`` and its POSTs are the
admin's: ``list`` shows rows with their raw bodies, ``replay`` applies one again at once
(in this process, through the applier the API and the sweeper use) and prints how it went,
``dismiss`` settles one for good without applying it. Each act names its actor,
``cli:<login>`` (or ``--by``), and its reason. They work on a running engine: the inbox
is in its database, and its locks and leases keep this process and the engine's apart.

A malformed argument exits 2; an unknown row, or one whose state refuses the act (already
applied, dismissed, being applied), exits 1 with the reason.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from api.representations import webhook_out
from api.schemas import WebhookPage
from application.errors import ApplicationError
from application.parked_webhooks import Handled, ListedStatus, ParkedWebhook, ParkedWebhooks
from domain import OutOfBounds, actors
from entrypoints.bootstrap import Container, Services
from entrypoints.running_engine import data_dir_option
from infrastructure.observability import configure_logging

EXIT_REFUSED = 1
WEBHOOK_ID = click.IntRange(min=1, max=2**63 - 1)


@contextmanager
def parked_webhooks(ctx: click.Context) -> Iterator[ParkedWebhooks]:
    """The inbox on DATABASE_URL (else the running engine's), tables upgraded; the
    logs (a replay logs what the applier does) as JSON lines on stderr."""
    from entrypoints.cli import settings_or_exit

    settings = settings_or_exit()
    lookup = ctx.obj["database_url"] if isinstance(ctx.obj, dict) else None
    url = str(lookup() if callable(lookup) else lookup)
    configure_logging("webhooks")  # JSON lines on stderr: stdout is the answer
    container = Container(settings, Services(url, "", ""), pool_size=2)
    try:
        container.upgrade_database()  # revision 0006's columns (adr/0012)
        yield container.parked_webhooks
    finally:
        container.close()


def _actor(by: str | None) -> str:
    """``cli:<login>``, as ``catalog load`` records its operator (adr/0016)."""
    if by is None:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no login name in this environment
            by = "unknown"
    return actors.cli(by)


def _reason(reason: str | None) -> str | None:
    if reason is not None and not reason.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")
    return reason


def _refused(exc: ApplicationError) -> NoReturn:
    from entrypoints.cli import fail

    fail(str(exc), EXIT_REFUSED)


def _bad(exc: OutOfBounds) -> NoReturn:
    from entrypoints.cli import fail

    fail(str(exc))


def _line(webhook: ParkedWebhook) -> str:
    said = webhook.error if webhook.status == "failed" else webhook.outcome
    if webhook.dismissed is not None:
        said = f"dismissed by {webhook.dismissed.by}: {webhook.dismissed.reason}"
    columns = (
        f"{webhook.id:<8} {webhook.provider:<9} {webhook.status:<10} "
        f"{webhook.attempts:>3} tries  {webhook.event_type:<32} {webhook.event_id}"
    )
    return f"{columns}  {said or ''}".rstrip()


def _report(handled: Handled, as_json: bool) -> None:
    webhook = handled.webhook
    if as_json:
        click.echo(webhook_out(webhook).model_dump_json())
        return
    click.echo(_line(webhook))


@click.group(
    subcommand_metavar="COMMAND [ARGS]",
    short_help="Provider webhooks: list, replay, dismiss; the events to subscribe to.",
)
def webhooks() -> None:
    """The webhook inbox: the events the engine could not apply, for a person to decide."""


@webhooks.command("events", short_help="The event types to subscribe an endpoint to.")
@click.argument("provider", type=click.Choice(["stripe", "razorpay"]))
def webhooks_events(provider: str) -> None:
    """The event types PROVIDER's webhook endpoint should be subscribed to, one per line:
    every type the engine acts on (Stripe's enabled_events, Razorpay's active events).
    `run` subscribes the built-in sandbox to the same list."""
    from infrastructure.webhooks.applier import subscribed_event_types

    for kind in subscribed_event_types(provider):
        click.echo(kind)


@webhooks.command("list", short_help="Inbox rows, newest first, with their bodies in --json.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in ListedStatus]),
    default=None,
    help="pending: not applied yet; failed: the last try raised; dismissed. Default: all.",
)
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--cursor", default=None, help="The nextCursor of the previous page (--json).")
@click.option("--json", "as_json", is_flag=True, help="The API's page: rows with raw bodies.")
@data_dir_option
@click.pass_context
def webhooks_list(
    ctx: click.Context, status: str | None, limit: int, cursor: str | None, as_json: bool
) -> None:
    """Inbox rows, newest first: id, provider, status, tries, type, event id, error."""
    from projections.queries import InvalidCursor

    listed = None if status is None else ListedStatus(status)
    with parked_webhooks(ctx) as parked:
        try:
            items, next_cursor = parked.list(listed, limit, cursor)
        except InvalidCursor as exc:
            raise click.BadParameter(str(exc), param_hint="--cursor") from None
    if as_json:
        page = WebhookPage(items=[webhook_out(item) for item in items], next_cursor=next_cursor)
        click.echo(json.dumps(page.model_dump(mode="json"), indent=2))
        return
    for item in items:
        click.echo(_line(item))
    if next_cursor is not None:
        click.echo(f"more: --cursor {next_cursor}", err=True)


@webhooks.command("replay", short_help="Apply a failed or pending webhook again now.")
@click.argument("webhook_id", metavar="ID", type=WEBHOOK_ID)
@click.option("--reason", default=None, help="Why (kept on record with who replayed it).")
@click.option("--by", default=None, help="Who decided (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="The row as the API answers it.")
@data_dir_option
@click.pass_context
def webhooks_replay(
    ctx: click.Context, webhook_id: int, reason: str | None, by: str | None, as_json: bool
) -> None:
    """Apply the webhook ID again, as a delivery would, and print how it went."""
    checked = _reason(reason)
    with parked_webhooks(ctx) as parked:
        try:
            handled = parked.replay(webhook_id, _actor(by), checked, None)
        except OutOfBounds as exc:
            _bad(exc)
        except ApplicationError as exc:
            _refused(exc)
    _report(handled, as_json)


@webhooks.command("dismiss", short_help="Never apply a webhook, on record with who and why.")
@click.argument("webhook_id", metavar="ID", type=WEBHOOK_ID)
@click.option("--reason", required=True, help="Why it is never to be applied (kept on record).")
@click.option("--by", default=None, help="Who decided (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="The row as the API answers it.")
@data_dir_option
@click.pass_context
def webhooks_dismiss(
    ctx: click.Context, webhook_id: int, reason: str, by: str | None, as_json: bool
) -> None:
    """Settle the webhook ID as dismissed: the sweeper never tries it again."""
    checked = _reason(reason)
    assert checked is not None
    with parked_webhooks(ctx) as parked:
        try:
            handled = parked.dismiss(webhook_id, _actor(by), checked, None)
        except OutOfBounds as exc:
            _bad(exc)
        except ApplicationError as exc:
            _refused(exc)
    _report(handled, as_json)
