"""`checkout-engine reconcile` (registered by the main CLI): compare each provider's
payments of a window with the engine's, repair what is safe, queue the rest for a person.

Exit codes: 0 when every provider's run completed (whatever it found); 1 when one could
not list its provider (recorded as ``partial``, nothing repaired); 3 when another
reconciliation holds the lock; 2 for bad arguments or a provider that is not configured.
"""

from __future__ import annotations

import getpass
from datetime import datetime

import click

from domain import actors
from entrypoints.bootstrap import Container, Services
from entrypoints.cli.audit_order import INSTANT
from entrypoints.running_engine import NoRunningEngine, data_dir_option, find_running_engine
from infrastructure.settings import Settings

EXIT_PARTIAL = 1
EXIT_BUSY = 3


def _providers(settings: Settings) -> Settings:
    """The configured provider keys, else the running engine's built-in sandbox (it takes
    any key), as `run` wires its own roles to it."""
    if settings.stripe_secret_key or settings.razorpay_key_id:
        return settings
    try:
        state = find_running_engine(settings, needs="STRIPE_SECRET_KEY or RAZORPAY_KEY_ID")
    except NoRunningEngine:
        return settings
    if state.sandbox_url is None:
        return settings
    return settings.model_copy(
        update={
            "stripe_secret_key": "sk_test_reconcile",
            "stripe_api_base": f"{state.sandbox_url}/stripe",
            "razorpay_key_id": "rzp_test_reconcile",
            "razorpay_key_secret": "reconcile",
            "razorpay_api_base": f"{state.sandbox_url}/razorpay",
        }
    )


@click.command(short_help="Compare the providers' payments with the engine's.")
@click.option("--since", type=INSTANT, default=None, help="Window start (default: 2 days back).")
@click.option("--until", type=INSTANT, default=None, help="Window end (default: 5 minutes ago).")
@click.option(
    "--provider", type=click.Choice(["stripe", "razorpay"]), default=None, help="Only this one."
)
@data_dir_option
@click.pass_context
def reconcile(
    ctx: click.Context, since: datetime | None, until: datetime | None, provider: str | None
) -> None:
    """List each provider's payments created in the window (all pages, with their refunds)
    and compare them with the engine's. Missed captures, authorizations and refunds are
    applied as their webhooks would have been; everything else waits in GET /admin/reviews.
    Every finding is an event on the payment (the order's history shows it)."""
    from entrypoints.cli import fail, settings_or_exit
    from infrastructure.reconciliation import ReconciliationBusy

    if since is not None and until is not None and since >= until:
        raise click.BadParameter("must be before --until", param_hint="--since")
    settings = _providers(settings_or_exit())
    lookup = ctx.obj["database_url"] if isinstance(ctx.obj, dict) else None
    url = str(lookup() if callable(lookup) else lookup)
    container = Container(settings, Services(url, "", ""), pool_size=2)
    ctx.call_on_close(container.close)
    container.upgrade_database()  # the runs table and the views (adr/0012)
    job = container.reconciliation_job
    if provider is not None and provider not in container.ledgers:
        fail(f"--provider {provider}: no credentials for it (set its keys, or start `run`)")
    if not container.ledgers:
        fail("no provider configured: set STRIPE_SECRET_KEY or RAZORPAY_KEY_ID, or start `run`")
    try:
        records = job.run(actors.cli(getpass.getuser()), provider, since, until)
    except ReconciliationBusy as exc:
        fail(f"{exc}: try again once it has finished", EXIT_BUSY)
    for record in records:
        found = ", ".join(f"{k} {v}" for k, v in sorted(record.discrepancies.items())) or "none"
        line = (
            f"{record.provider}: {record.status}, {record.compared} compared, "
            f"discrepancies: {found}, {record.repairs} repaired (run {record.run_id})"
        )
        if record.error:
            line += f"; {record.error}"
        click.echo(line)
    if any(record.status != "completed" for record in records):
        ctx.exit(EXIT_PARTIAL)
