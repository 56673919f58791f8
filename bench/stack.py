"""The engine under test: `checkout-engine run` as a subprocess, as an operator starts it.

It gets the benchmark's database and broker, free ports for the API and the provider
sandbox, a fresh CHECKOUT_DATA_DIR and the per-customer and per-IP rate limits switched
off (the load generator is one IP placing thousands of orders a minute).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from entrypoints.embedded.broker import free_port

ROLE_NAMES = ("sandbox", "api", "projector", "relay", "worker")
# Provider keys in the environment would make `run` talk to the real providers.
_SCRUBBED = (
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "RAZORPAY_API_BASE",
)


class StackError(RuntimeError):
    pass


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", *args]


@dataclass
class Stack:
    workdir: Path
    database_url: str
    bootstrap_servers: str
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    port: int = 0
    sandbox_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        # The bench names its own connections (checkout-bench); the supervisor names each
        # role's (checkout-<role>), and `run` itself and `catalog load` stay unnamed.
        env.pop("PGAPPNAME", None)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "CHECKOUT_JWT_SECRET": self.jwt_secret,
                "CHECKOUT_DATA_DIR": str(self.workdir / "data"),
                "XDG_STATE_HOME": str(self.workdir / "state"),  # not the user's pointer
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "SANDBOX_PORT": str(self.sandbox_port),
                "RATE_LIMIT_PER_CUSTOMER": "off",
                "RATE_LIMIT_PER_IP": "off",
                "RATE_LIMIT_READS_PER_IP": "off",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self, timeout: float = 90.0) -> None:
        self.port = self.port or free_port()
        self.sandbox_port = self.sandbox_port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (
            (self.workdir / "run.stdout").open("ab") as out,
            (self.workdir / "run.stderr").open("ab") as err,
        ):
            self.process = subprocess.Popen(
                _cli("run"), env=self.environment(), stdout=out, stderr=err, cwd=self.workdir
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"checkout-engine run exited with {self.process.returncode}")
            if self._ready() and self._sandbox_ready() and len(self.role_pids()) == 5:
                return
            time.sleep(0.25)
        self.stop()
        raise StackError(f"the stack was not ready in {timeout:.0f}s (see {self.workdir})")

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _sandbox_ready(self) -> bool:
        try:
            response = httpx.get(f"{self.sandbox_url}/_sandbox/health", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def role_pids(self) -> dict[str, int]:
        """The pid of each role `run` supervises, by role name."""
        if self.process is None:
            return {}
        pids: dict[str, int] = {}
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return {}
        for child in children:
            try:
                role = role_of(child.cmdline())
            except psutil.Error:
                continue
            if role is not None:
                pids[role] = child.pid
        return pids

    def load_catalog(self, entries: list[dict[str, Any]]) -> None:
        path = self.workdir / "catalog.json"
        path.write_text(json.dumps(entries))
        result = subprocess.run(
            _cli("catalog", "load", str(path)),
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"catalog load failed: {result.stderr.strip()[-500:]}")

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            family = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        # Anything `run` left behind (it should leave nothing) is ours to end, by pid.
        for child in family:
            try:
                if child.is_running():
                    child.kill()
            except psutil.Error:
                pass


def role_of(argv: list[str]) -> str | None:
    """The role a child of `run` plays, from its command line: `python -m entrypoints.cli
    ROLE`, except the sandbox, which replaces itself with `python -m sandbox` (the engine
    never imports the sandbox)."""
    try:
        module, *rest = argv[argv.index("-m") + 1 :]
    except ValueError:  # no -m, or nothing after it
        return None
    if module == "sandbox":
        return "sandbox"
    if module == "entrypoints.cli" and rest and rest[0] in ROLE_NAMES:
        return rest[0]
    return None


def catalog_entries(skus: int, stock: int) -> list[dict[str, Any]]:
    """Many skus with plenty of stock: checkouts spread over them and never run out."""
    return [
        {
            "sku": f"BENCH-{n:04d}",
            "name": f"Bench item {n}",
            "vendorId": f"vendor-{n % 7}",
            "unitAmount": 500 + (n * 37) % 4500,
            "currency": "USD",
            "stock": stock,
        }
        for n in range(skus)
    ]
