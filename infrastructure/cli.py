"""The `checkout-engine` command line (CONTRACT.md, Commands).

Bad arguments and bad configuration exit 2 with a one-line reason.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn

import click

from infrastructure.db_cli import db as db_group
from infrastructure.followers import followers as followers_group
from infrastructure.settings import ConfigurationError, Settings, load_settings
from projections.cli import projections as projections_group

# Command groups that work on the database: DATABASE_URL, or the embedded one.
DATABASE_GROUPS = {"projections", "followers"}

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"checkout-engine: error: {message}", err=True)
    sys.exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """checkout-engine: event-sourced checkout and payments with a transactional outbox."""
    ctx.ensure_object(dict)
    if ctx.invoked_subcommand in DATABASE_GROUPS and "--help" not in sys.argv:
        from infrastructure.embedded import embedded_database_url

        stack = ctx.with_resource(ExitStack())
        ctx.obj["database_url"] = embedded_database_url(settings_or_exit(), stack)


cli.add_command(projections_group)
cli.add_command(db_group)
cli.add_command(followers_group)


@cli.command()
def run() -> None:
    """Every role in one process group, with embedded services for what is not configured."""
    from infrastructure.launcher import run_all

    sys.exit(run_all(settings_or_exit()))


@cli.command()
def api() -> None:
    """The HTTP API alone (needs DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, CHECKOUT_JWT_SECRET)."""
    from infrastructure.launcher import run_api

    settings = settings_or_exit()
    try:
        run_api(settings)
    except ConfigurationError as exc:
        fail(str(exc))


@cli.command()
def projector() -> None:
    """The read-model projections alone (needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS)."""
    from infrastructure.launcher import run_projector

    sys.exit(run_projector(settings_or_exit()))


@cli.command()
def relay() -> None:
    """The outbox relay alone: committed events to Kafka (needs DATABASE_URL, KAFKA_...)."""
    from infrastructure.launcher import run_relay_role

    sys.exit(run_relay_role(settings_or_exit()))


@cli.command()
def worker() -> None:
    """Provider calls and the expiry reaper alone (needs DATABASE_URL, KAFKA_...)."""
    from infrastructure.launcher import run_worker

    sys.exit(run_worker(settings_or_exit()))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--port", default=12111, show_default=True, type=click.IntRange(1, 65535))
@click.option("--stripe-webhook-url", help="Where to send signed Stripe webhooks.")
@click.option("--stripe-webhook-secret", help="whsec_... secret that signs them.")
@click.option("--razorpay-webhook-url", help="Where to send signed Razorpay webhooks.")
@click.option("--razorpay-webhook-secret", help="Secret that signs them.")
def sandbox(
    host: str,
    port: int,
    stripe_webhook_url: str | None,
    stripe_webhook_secret: str | None,
    razorpay_webhook_url: str | None,
    razorpay_webhook_secret: str | None,
) -> None:
    """The Stripe and Razorpay sandbox on its own (under /stripe and /razorpay)."""
    from infrastructure.sandbox.config import SandboxConfig
    from infrastructure.sandbox.server import run_sandbox

    for url_option, url, secret in (
        ("--stripe-webhook-url", stripe_webhook_url, stripe_webhook_secret),
        ("--razorpay-webhook-url", razorpay_webhook_url, razorpay_webhook_secret),
    ):
        if url and not secret:
            fail(f"{url_option} needs its webhook secret too")
    config = SandboxConfig(
        stripe_webhook_url=stripe_webhook_url,
        stripe_webhook_secret=stripe_webhook_secret,
        razorpay_webhook_url=razorpay_webhook_url,
        razorpay_webhook_secret=razorpay_webhook_secret,
    )
    click.echo(f"provider sandbox on http://{host}:{port} (/stripe, /razorpay)", err=True)
    run_sandbox(host, port, config)


@cli.command()
@click.option("--sub", "subject", required=True, help="Customer or service id (the `sub` claim).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["admin", "service"]),
    help="Add a role claim; repeatable.",
)
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 31_536_000))
def token(subject: str, roles: tuple[str, ...], ttl: int) -> None:
    """Mint a bearer token with the configured (or embedded-mode) secret."""
    from infrastructure.embedded import jwt_secret_for
    from infrastructure.tokens import mint_token

    if not subject.strip():
        fail("--sub must not be empty")
    click.echo(mint_token(jwt_secret_for(settings_or_exit()), subject, roles, ttl))


@cli.group()
def catalog() -> None:
    """The product catalog and its stock."""


@catalog.command("load")
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
def catalog_load(file: Path, mode: str | None) -> None:
    """Upsert products from JSON: [{sku,name,vendorId,unitAmount,currency,stock}].

    A new sku starts with its stock. An existing sku keeps its stock unless --restock or
    --set-available says what the file's stock means, so loading the same file again
    after sales never puts sold units back on sale.
    """
    from application.catalog import StockMode
    from domain import DomainError
    from infrastructure.catalog_file import CatalogFileError, read_catalog
    from infrastructure.launcher import open_container

    stock_mode = StockMode(mode) if mode else StockMode.INITIAL
    settings = settings_or_exit()
    try:
        entries = read_catalog(file)
    except CatalogFileError as exc:
        fail(str(exc))
    click.echo(f"loading {len(entries)} products from {file} ...", err=True)
    with open_container(settings, role="catalog") as container:
        try:
            loaded = container.catalog.upsert(entries, stock_mode)
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


if __name__ == "__main__":
    main()
