"""`checkout-engine audit order|export|verify`: what auditors run (adr/0015).

Each command reads DATABASE_URL, or else the running engine's database (exit 2 when there
is neither), like the other operator commands.
"""

from __future__ import annotations

import click

from entrypoints.cli.audit_order import export, order
from entrypoints.cli.audit_verify import verify


@click.group(
    "audit", subcommand_metavar="COMMAND [ARGS]", short_help="An order's history; verify the log."
)
def audit() -> None:
    """The audit trail: an order's whole history, exports, and the log's hash chain."""


audit.add_command(verify)
audit.add_command(order)
audit.add_command(export)
