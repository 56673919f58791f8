"""Help is never cut short: no command listing (nor anything else in --help) ends in "..."."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from entrypoints.cli import cli


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


PATHS = list(command_paths(cli))


def test_every_command_is_walked() -> None:
    assert {("catalog", "load"), ("db", "upgrade"), ("followers", "skip"), ("run",)} <= set(PATHS)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "checkout-engine")
def test_help_is_never_cut_short(path: tuple[str, ...], width: int) -> None:
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="checkout-engine", terminal_width=width
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: checkout-engine")
    assert "..." not in result.output


def test_listings_show_each_commands_short_help() -> None:
    result = CliRunner().invoke(cli, ["--help"], prog_name="checkout-engine")
    listing = result.output.split("Commands:")[1]
    assert "run          Every role, plus embedded services for what is not configured." in (
        listing
    )
    assert "token        Mint a bearer token the engine accepts." in listing
