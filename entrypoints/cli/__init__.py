"""The `checkout-engine` command line (CONTRACT.md, Commands).

Bad arguments and bad configuration exit 2 with a one-line reason; so does a command that
needs the engine's database or secret when none is configured and no engine is running
(entrypoints.running_engine). Each command's ``short_help`` is what the listings show:
click would cut a longer first line short with "...".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from entrypoints.cli.audit import audit as audit_group
from entrypoints.cli.db import db as db_group
from entrypoints.cli.followers import followers as followers_group
from entrypoints.cli.projections import projections as projections_group
from entrypoints.cli.reconcile import reconcile as reconcile_command
from entrypoints.cli.webhooks import webhooks as webhooks_group
from entrypoints.running_engine import data_dir_option, database_url
from infrastructure.settings import ConfigurationError, Settings, load_settings

EXIT_USAGE = 2
# "COMMAND [ARGS]..." is click's default; a help text here never ends in "...".
SUBCOMMAND = "COMMAND [ARGS]"


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"checkout-engine: error: {message}", err=True)
    sys.exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        fail(str(exc))


def database_url_or_exit() -> str:
    """DATABASE_URL, else the running engine's database (NoRunningEngine: exit 2)."""
    return database_url(settings_or_exit())


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]}, subcommand_metavar=SUBCOMMAND
)
@data_dir_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """checkout-engine: event-sourced checkout and payments with a transactional outbox.

    `run` starts everything and records where it runs; the other commands find the
    running engine from there unless DATABASE_URL (and CHECKOUT_JWT_SECRET for tokens)
    say otherwise.
    """
    ctx.ensure_object(dict)
    # Looked up only when a command needs it, after its own options (--data-dir) are read.
    ctx.obj["database_url"] = database_url_or_exit


cli.add_command(projections_group)
cli.add_command(db_group)
cli.add_command(followers_group)
cli.add_command(audit_group)
cli.add_command(reconcile_command)
cli.add_command(webhooks_group)


@cli.command(short_help="Every role, plus embedded services for what is not configured.")
@data_dir_option
def run() -> None:
    """Every role in one process group, with embedded services for what is not configured.

    Refuses (exit 2) when an engine already runs for this data directory or PORT or
    SANDBOX_PORT is taken. Prints the URLs, tokens and `export` lines for other shells;
    Ctrl-C or SIGTERM stops everything.
    """
    from entrypoints.launcher import run_all

    sys.exit(run_all(settings_or_exit()))


@cli.command(short_help="The HTTP API alone, for production.")
def api() -> None:
    """The HTTP API alone (needs DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, CHECKOUT_JWT_SECRET)."""
    from entrypoints.launcher import run_api

    settings = settings_or_exit()
    try:
        run_api(settings)
    except ConfigurationError as exc:
        fail(str(exc))


@cli.command(short_help="The read-model projections alone, for production.")
def projector() -> None:
    """The read-model projections alone (needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS)."""
    from entrypoints.launcher import run_projector

    sys.exit(run_projector(settings_or_exit()))


@cli.command(short_help="The outbox relay alone, for production.")
def relay() -> None:
    """The outbox relay alone: committed events to Kafka (needs DATABASE_URL and
    KAFKA_BOOTSTRAP_SERVERS)."""
    from entrypoints.launcher import run_relay_role

    sys.exit(run_relay_role(settings_or_exit()))


@cli.command(short_help="Provider calls and the expiry reaper alone, for production.")
def worker() -> None:
    """Provider calls and the expiry reaper alone (needs DATABASE_URL and
    KAFKA_BOOTSTRAP_SERVERS)."""
    from entrypoints.launcher import run_worker

    sys.exit(run_worker(settings_or_exit()))


@cli.command(short_help="The Stripe and Razorpay sandbox on its own.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--port", default=12111, show_default=True, type=click.IntRange(1, 65535))
@click.option("--stripe-webhook-url", help="Where to send signed Stripe webhooks.")
@click.option("--stripe-webhook-secret", help="The whsec_ secret that signs them.")
@click.option("--razorpay-webhook-url", help="Where to send signed Razorpay webhooks.")
@click.option("--razorpay-webhook-secret", help="Secret that signs them.")
@click.option(
    "--stripe-webhook-events",
    metavar="TYPES",
    help="Comma-separated event types the Stripe endpoint is subscribed to (default: all).",
)
@click.option(
    "--razorpay-webhook-events",
    metavar="TYPES",
    help="Comma-separated event types the Razorpay endpoint is subscribed to (default: all).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log a line per request.",
)
@click.option(
    "--webhook-max-attempts",
    type=click.IntRange(1, 10_000),
    help="Deliveries of one webhook before giving up (the real providers retry for days).",
)
@click.option(
    "--webhook-retry-max-seconds",
    type=click.FloatRange(0, 86_400),
    help="The longest wait between two deliveries of one webhook (the wait doubles up to it).",
)
def sandbox(
    host: str,
    port: int,
    stripe_webhook_url: str | None,
    stripe_webhook_secret: str | None,
    razorpay_webhook_url: str | None,
    razorpay_webhook_secret: str | None,
    stripe_webhook_events: str | None,
    razorpay_webhook_events: str | None,
    access_log: bool,
    webhook_max_attempts: int | None,
    webhook_retry_max_seconds: float | None,
) -> None:
    """The Stripe and Razorpay sandbox on its own (under /stripe and /razorpay).

    It runs as `python -m sandbox` in place of this process: the engine never imports the
    sandbox (adr/0014).
    """
    arguments = ["--host", host, "--port", str(port)]
    for url_option, url, secret in (
        ("--stripe-webhook-url", stripe_webhook_url, stripe_webhook_secret),
        ("--razorpay-webhook-url", razorpay_webhook_url, razorpay_webhook_secret),
    ):
        if url and not secret:
            fail(f"{url_option} needs its webhook secret too")
        if url and secret:
            secret_option = url_option.replace("-url", "-secret")
            arguments += [url_option, url, secret_option, secret]
    for events_option, events in (
        ("--stripe-webhook-events", stripe_webhook_events),
        ("--razorpay-webhook-events", razorpay_webhook_events),
    ):
        if events is not None:
            arguments += [events_option, events]
    if not access_log:
        arguments.append("--no-access-log")
    if webhook_max_attempts is not None:
        arguments += ["--webhook-max-attempts", str(webhook_max_attempts)]
    if webhook_retry_max_seconds is not None:
        arguments += ["--webhook-retry-max-seconds", str(webhook_retry_max_seconds)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "sandbox", *arguments])  # noqa: S606


@cli.command(short_help="Mint a bearer token the engine accepts.")
@click.option("--sub", "subject", required=True, help="Customer or service id (the `sub` claim).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["admin", "auditor", "service"]),
    help="Add a role claim; repeatable.",
)
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 31_536_000))
@data_dir_option
def token(subject: str, roles: tuple[str, ...], ttl: int) -> None:
    """Mint a bearer token signed with CHECKOUT_JWT_SECRET, or else with the secret of the
    running engine (the one `run` started; exit 2 when none is running)."""
    from entrypoints.running_engine import jwt_secret
    from entrypoints.tokens import mint_token

    if not subject.strip():
        fail("--sub must not be empty")
    click.echo(mint_token(jwt_secret(settings_or_exit()), subject, roles, ttl))


@cli.group(subcommand_metavar=SUBCOMMAND, short_help="The product catalog and its stock.")
def catalog() -> None:
    """The product catalog and its stock."""


@catalog.command("load", short_help="Upsert products and their stock from a JSON file.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--restock",
    "mode",
    flag_value="restock",
    help="For skus that exist, add each entry's stock to what is on hand (a delivery).",
)
@click.option(
    "--set-available",
    "mode",
    flag_value="available",
    help="For skus that exist, make each entry's stock the units available to buy, on top "
    "of what open orders hold (units already sold stay sold).",
)
@data_dir_option
def catalog_load(file: Path, mode: str | None) -> None:
    """Upsert products from JSON: [{sku,name,vendorId,unitAmount,currency,stock}].

    A new sku starts with its stock. An existing sku keeps its stock unless --restock or
    --set-available says what the file's stock means, so loading the same file again
    after sales never puts sold units back on sale.

    Loads into DATABASE_URL, or else the running engine's database (exit 2 when none is
    running).
    """
    import getpass

    from application.catalog import StockMode
    from domain import DomainError, actors
    from entrypoints.catalog_file import CatalogFileError, read_catalog
    from entrypoints.launcher import open_container

    stock_mode = StockMode(mode) if mode else StockMode.INITIAL
    settings = settings_or_exit()
    try:
        entries = read_catalog(file)
    except CatalogFileError as exc:
        fail(str(exc))
    click.echo(f"loading {len(entries)} products from {file} ...", err=True)
    with open_container(settings, role="catalog") as container:
        try:
            # The operator who loaded it is the actor of its changes (adr/0016).
            try:
                login = getpass.getuser()
            except (KeyError, OSError):  # no login name in this environment
                login = "unknown"
            actor = actors.cli(login)
            loaded = container.catalog.upsert(entries, stock_mode, actor)
        except (DomainError, ValueError) as exc:
            fail(f"{file}: {exc}")
    click.echo(
        f"catalog loaded: {loaded.created} created, {loaded.updated} updated, "
        f"{loaded.unchanged} unchanged (stock of existing skus: {stock_mode.value}; "
        f"log position {loaded.position})"
    )


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="checkout-engine", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        fail(exc.format_message().replace("\n", " "))
    except click.exceptions.Abort:
        fail("aborted", 1)
    except ConfigurationError as exc:
        fail(str(exc))
