from __future__ import annotations

import subprocess
import sys

import jwt
import pytest


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("no-such-command",),
        ("token",),
        ("token", "--sub", "alice", "--ttl", "0"),
        ("token", "--sub", "alice", "--role", "superuser"),
        ("token", "--sub", "   "),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("checkout-engine: error: ")


def test_bad_configuration_exits_2_naming_the_variable(tmp_path: object) -> None:
    result = run_cli("token", "--sub", "alice", env={"PORT": "many", "PATH": "/usr/bin"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "checkout-engine: error: PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_single_role_without_services_exits_2() -> None:
    result = run_cli("api", env={"PATH": "/usr/bin"})
    assert result.returncode == 2
    assert "DATABASE_URL: required" in result.stderr


@pytest.mark.parametrize("command", [(), ("run",), ("api",), ("token",)])
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "Usage: checkout-engine" in result.stdout


def test_token_is_signed_with_the_configured_secret() -> None:
    secret = "s" * 32
    result = run_cli(
        "token",
        "--sub",
        "alice",
        "--role",
        "admin",
        "--ttl",
        "60",
        env={"CHECKOUT_JWT_SECRET": secret, "PATH": "/usr/bin"},
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["admin"]
    assert claims["exp"] - claims["iat"] == 60
