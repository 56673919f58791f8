"""The real stack as `checkout-engine run` starts it, with a chaos controller's hands on it.

Embedded PostgreSQL (its own, so that it can be restarted), the Tansu broker, the provider
sandbox and the four engine roles, each role a child process started with the very command
`run` uses (``entrypoints.supervisor.role_command``). In place of `run`'s supervisor, which
gives up on a role that dies more than five times a minute, this one restarts a role the
moment it dies, however often, and records why it died: killed by the schedule (``kill``), at
a crash point it was armed with (``point``), or of its own accord (``exit``: a loop that
crashed, say while PostgreSQL was restarting, ends its process by design).

A role is (re)started armed with at most one crash point (``application.crash_points``)
chosen by the seeded schedule, so kills also land between the two statements that matter.
"""

from __future__ import annotations

import random
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from application.catalog import CatalogEntry
from application.crash_points import ENVIRONMENT_VARIABLE
from entrypoints.bootstrap import Container, Services
from entrypoints.embedded.broker import EmbeddedBroker, free_port
from entrypoints.embedded.postgres import EmbeddedPostgres
from entrypoints.embedded.providers import SandboxWiring, sandbox_wiring
from entrypoints.supervisor import child_environment, role_command
from entrypoints.tokens import mint_token
from infrastructure.database import DatabaseAddress
from infrastructure.settings import load_settings
from tests.waiting import wait_until

ROLES = ("api", "projector", "relay", "worker")

# The crash points each role passes (a point fires in whichever process passes it).
POINTS_BY_ROLE: Mapping[str, tuple[str, ...]] = {
    "api": ("events.in_transaction", "webhooks.before_apply"),
    "projector": ("projector.before_commit",),
    "relay": ("relay.before_produce", "relay.before_save"),
    "worker": ("events.in_transaction", "worker.after_provider_call", "projector.before_commit"),
}

# Settings of the chaos run's roles: short leases, so a crashed role's claims pass to its
# successor in seconds; a short payment TTL, so that expiry happens within the run.
ROLE_SETTINGS = {
    "PAYMENT_TTL_SECONDS": "40",
    "WORKER_TASK_LEASE_SECONDS": "8",
    "WEBHOOK_LEASE_SECONDS": "4",
    "RATE_LIMIT_PER_CUSTOMER": "100000/minute",
    "RATE_LIMIT_PER_IP": "1000000/minute",
    "RATE_LIMIT_READS_PER_IP": "1000000/minute",
    "AUDIT_ANCHOR_EVERY_SECONDS": "5",
}


@dataclass(frozen=True)
class Crash:
    role: str
    kind: str  # kill | point | exit
    point: str | None
    exit_code: int | None
    at: float  # seconds since the stack started


@dataclass
class RoleProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    armed: str | None = None
    killed_by_schedule: bool = False
    restarting: bool = False
    starts: int = 0

    def spawn(self, armed: str | None) -> None:
        env = dict(self.env)
        env.pop(ENVIRONMENT_VARIABLE, None)
        if armed:
            env[ENVIRONMENT_VARIABLE] = armed
        self.armed, self.killed_by_schedule = armed, False
        with self.log_path.open("ab") as log:
            log.write(f'{{"event": "chaos: start {self.name}", "armed": "{armed}"}}\n'.encode())
            self.process = subprocess.Popen(
                self.argv, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)


@dataclass
class Stack:
    workdir: Path
    rng: random.Random
    arm_probability: float = 0.8
    catalog: list[CatalogEntry] = field(default_factory=list)
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    crashes: list[Crash] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._arming = True
        self._started = time.monotonic()
        self._postgres = EmbeddedPostgres(self.workdir / "pg", delete_on_stop=True)
        self._broker = EmbeddedBroker(self.workdir / "broker")
        self._roles: dict[str, RoleProcess] = {}
        self._sandbox: RoleProcess | None = None
        self._watcher: threading.Thread | None = None
        self._paused_until = 0.0

    # -- starting and stopping -------------------------------------------------------------

    def start(self) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.database_url = self._postgres.start()
        self.bootstrap_servers = self._broker.start()
        port, sandbox_port = free_port(), free_port()
        self.api_base = f"http://127.0.0.1:{port}"
        settings = load_settings(PORT=str(port), SANDBOX_PORT=str(sandbox_port))
        wiring = sandbox_wiring(settings, self.api_base)
        assert wiring is not None, "no provider keys may be set for a chaos run"
        self.wiring: SandboxWiring = wiring
        self.sandbox_url = wiring.base_url
        overrides = {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "CHECKOUT_JWT_SECRET": self.jwt_secret,
            "CHECKOUT_DATA_DIR": str(self.workdir / "data"),
            "PORT": str(port),
            "SANDBOX_PORT": str(sandbox_port),
            **ROLE_SETTINGS,
            **wiring.environment,
        }
        env = child_environment(overrides)
        for name in ("STRIPE_SECRET_KEY", "RAZORPAY_KEY_ID"):
            assert env[name] == wiring.environment[name]
        sandbox_argv = role_command(
            "sandbox",
            *wiring.arguments,
            "--webhook-max-attempts",
            "200",
            "--webhook-retry-max-seconds",
            "2",
        )
        self._sandbox = RoleProcess("sandbox", sandbox_argv, env, self._log("sandbox"))
        self._sandbox.spawn(None)
        for name in ROLES:
            self._roles[name] = RoleProcess(name, role_command(name), env, self._log(name))
            self._roles[name].spawn(None)
        wait_until(self._api_ready, timeout=120, interval=0.2, what="the API's /readyz")
        self._load_catalog()
        self._watcher = threading.Thread(target=self._watch, name="chaos:watch", daemon=True)
        self._watcher.start()

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _api_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _load_catalog(self) -> None:
        services = Services(self.database_url, self.bootstrap_servers, self.jwt_secret)
        container = Container(load_settings(), services)
        try:
            container.catalog.upsert(self.catalog)
        finally:
            container.close()

    def stop_roles(self) -> None:
        """The engine's roles stop; PostgreSQL, the broker and the sandbox stay up. Nothing
        moves while the checker reads the log and then the views (an order expiring between
        the two would make the catalog view disagree with the log it read)."""
        self._stop_watching()
        _terminate(list(self._roles.values()))

    def stop(self) -> None:
        self._stop_watching()
        self._resume_broker()
        _terminate([*self._roles.values(), *([self._sandbox] if self._sandbox else [])])
        self._broker.stop()
        self._postgres.stop()

    def _stop_watching(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)

    # -- what the checker and the scenario need --------------------------------------------

    def token(self, subject: str, roles: tuple[str, ...] = ()) -> str:
        return mint_token(self.jwt_secret, subject, roles, 24 * 3600)

    @property
    def provider_environment(self) -> Mapping[str, str]:
        return self.wiring.environment

    def now(self) -> float:
        return time.monotonic() - self._started

    def crash_counts(self) -> dict[str, dict[str, int]]:
        """Crashes by role, then by kind (``point:<name>`` for crash points)."""
        counts: dict[str, Counter[str]] = {}
        for crash in self.crashes:
            kind = f"point:{crash.point}" if crash.kind == "point" else crash.kind
            counts.setdefault(crash.role, Counter())[kind] += 1
        return {role: dict(kinds) for role, kinds in sorted(counts.items())}

    def counted_crashes(self) -> int:
        """The crashes the schedule caused (kills and crash points), not the roles' own exits."""
        return sum(1 for crash in self.crashes if crash.kind in ("kill", "point"))

    # -- faults ------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """kill -9 of a role, wherever it is."""
        with self._lock:
            role = self._roles[name]
            if role.exit_code() is not None or role.restarting:
                return
            role.killed_by_schedule = True
            role.signal(signal.SIGKILL)

    def terminate_connections(self) -> int:
        """pg_terminate_backend on every engine connection; how many were cut."""
        address = DatabaseAddress.parse(self.database_url)
        with psycopg.connect(address.conninfo, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchall()
        self.faults["postgres_connections_terminated"] += 1
        return len(rows)

    def restart_postgres(self) -> None:
        """An immediate (crash-like) stop and a start: the server recovers from its WAL."""
        self._postgres.restart(immediate=True)
        self.faults["postgres_restarted"] += 1

    def pause_broker(self, seconds: float) -> None:
        """The broker stops answering (SIGSTOP) for ``seconds``, then resumes (SIGCONT).

        Tansu here keeps messages in memory only: a killed broker would lose acknowledged
        records, which says nothing about the engine. A frozen one is an outage the relay
        must ride out without losing or reordering anything.
        """
        process = self._broker._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGSTOP)
        self._paused_until = time.monotonic() + seconds
        self.faults["broker_paused"] += 1

    def _resume_broker(self) -> None:
        process = self._broker._process
        if self._paused_until and process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)
        self._paused_until = 0.0

    def sandbox_control(self, method: str, path: str, body: object = None) -> httpx.Response:
        return httpx.request(method, f"{self.sandbox_url}/_sandbox{path}", json=body, timeout=10)

    def calm(self) -> None:
        """Faults stop: no more arming, the broker resumes, armed roles restart unarmed."""
        with self._lock:
            self._arming = False
            self._resume_broker()
            for role in self._roles.values():
                if role.armed and role.exit_code() is None:
                    role.restarting = True
                    role.signal(signal.SIGTERM)
        for role in list(self._roles.values()):
            if role.restarting and role.process is not None:
                try:
                    role.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    role.process.kill()
                    role.process.wait()
                with self._lock:
                    role.spawn(None)
                    role.restarting = False
        wait_until(self._api_ready, timeout=120, interval=0.2, what="the API back after calm")

    # -- the watcher ---------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(0.05):
            if self._paused_until and time.monotonic() >= self._paused_until:
                self._resume_broker()
            with self._lock:
                for role in self._roles.values():
                    code = role.exit_code()
                    if code is None or role.restarting:
                        continue
                    self._record_exit(role, code)
                    role.spawn(self._choose_arming(role.name))

    def _record_exit(self, role: RoleProcess, code: int) -> None:
        if role.killed_by_schedule:
            kind, point = "kill", None
        elif code == -signal.SIGKILL and role.armed:
            kind, point = "point", role.armed.partition("@")[0]
        else:
            kind, point = "exit", None
        self.crashes.append(Crash(role.name, kind, point, code, self.now()))

    def _choose_arming(self, name: str) -> str | None:
        if not self._arming or self.rng.random() >= self.arm_probability:
            return None
        point = self.rng.choice(POINTS_BY_ROLE[name])
        return f"{point}@{self.rng.randint(1, 3)}"


def _terminate(roles: list[RoleProcess], timeout: float = 20.0) -> None:
    """SIGTERM to every one, then wait for each; one that does not stop in time is killed."""
    for role in roles:
        role.signal(signal.SIGTERM)
    for role in roles:
        if role.process is None:
            continue
        try:
            role.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            role.process.kill()
            role.process.wait()
