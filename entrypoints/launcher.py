"""Starts roles: one alone (production) or all of them under the supervisor (`run`)."""

from __future__ import annotations

import os
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import click
import httpx
import structlog
import uvicorn

from entrypoints import heap
from entrypoints.bootstrap import Container, Services
from entrypoints.embedded import resolve_services
from entrypoints.embedded.providers import SandboxWiring, sandbox_wiring
from entrypoints.preflight import check_ports, claim_data_dir
from entrypoints.roles import NamedLoop, run_loops
from entrypoints.running_engine import (
    EngineState,
    Publication,
    database_url,
    pointer_path,
    process_start,
    publish,
)
from entrypoints.supervisor import Role, RoleFailed, Supervisor, child_environment, role_command
from entrypoints.tokens import mint_token
from infrastructure.observability import configure_logging
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)


@contextmanager
def open_container(settings: Settings, role: str) -> Iterator[Container]:
    """A container for a one-shot command on DATABASE_URL or the running engine's database."""
    url = database_url(settings)  # before logging: "no running engine" is one plain line
    configure_logging(role)
    services = Services(
        url, settings.kafka_bootstrap_servers or "", settings.checkout_jwt_secret or ""
    )
    container = Container(settings, services)
    try:
        yield container
    finally:
        container.close()


# The roles `run` supervises, besides the provider sandbox when no keys are set.
ENGINE_ROLES = ("api", "projector", "relay", "worker")
# The API's nice value when `run` puts every role on one machine (API_NICENESS overrides).
ALL_IN_ONE_API_NICENESS = 10


def role_container(
    settings: Settings, role: str, *, jwt: bool = False, pool_size: int = 10
) -> Container:
    """A production role's container, its database brought up to the newest revision
    (adr/0012) before anything reads or writes it."""
    configure_logging(role)
    container = Container(settings, Services.from_settings(settings, jwt=jwt), pool_size=pool_size)
    try:
        container.upgrade_database()
    except BaseException:
        container.close()
        raise
    return container


def yield_cpu(niceness: int) -> None:
    """Lower this process's CPU priority to ``niceness`` (never raises it back)."""
    current = os.nice(0)
    if niceness > current:
        os.nice(niceness - current)
        log.info("cpu priority lowered", niceness=niceness)


def run_background_role(
    settings: Settings,
    role: str,
    loops: Callable[[Container], list[NamedLoop]],
    *,
    pool_size: int = 10,
) -> int:
    """Run a role's loops until SIGINT/SIGTERM; the exit code says whether one crashed."""
    container = role_container(settings, role, pool_size=pool_size)
    try:
        named = loops(container)
        heap.settle()
        return run_loops(named)
    finally:
        container.close()


def run_api(settings: Settings) -> None:
    from api.app import create_app

    # Before any thread starts: Linux keeps a nice value per thread, and new threads
    # inherit their creator's.
    yield_cpu(settings.api_niceness)
    container = role_container(settings, "api", jwt=True)  # create_app's lifespan closes it
    app = create_app(container)
    heap.settle()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def run_projector(settings: Settings) -> int:
    """Every projection on one shared follower (one active instance per lock), and
    the audit hash chain (adr/0015)."""
    return run_background_role(
        settings, "projector", lambda c: [*c.projector_loops(), *c.audit_loops()]
    )


def run_relay_role(settings: Settings) -> int:
    """The outbox relay: one active per database (advisory lock), the others stand by."""
    return run_background_role(settings, "relay", Container.relay_loops, pool_size=2)


def run_worker(settings: Settings) -> int:
    """Provider calls and the expiry reaper; starts fine with no provider configured."""
    return run_background_role(settings, "worker", Container.worker_loops)


def _wait_ready(url: str, timeout: float, stopping: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        stopping.wait(0.25)
    return False


def _banner(services: Services, base: str, sandbox: str | None, state_file: str) -> str:
    customer = mint_token(services.jwt_secret, "customer-demo", (), 24 * 3600)
    admin = mint_token(services.jwt_secret, "admin-demo", ("admin",), 24 * 3600)
    lines = [
        "checkout-engine is running",
        f"  storefront    {base}/storefront#token={customer}",
        f"  admin         {base}/admin#token={admin}",
        f"  API           {base}   (OpenAPI: {base}/openapi.json)",
        f"  start page    {base}/   docs: {base}/docs",
        f"  readiness     {base}/readyz   metrics: {base}/metrics",
        f"  database      {services.database_url}",
        f"  broker        {services.bootstrap_servers}",
        f"  providers     {sandbox + ' (built-in sandbox)' if sandbox else 'configured keys'}",
        f"  customer JWT  {customer}",
        f"  admin JWT     {admin}",
        f"  state         {state_file} (how token, catalog load, db, projections and "
        "followers find this engine)",
        "For other shells and tools (Kafka consumers, psql), paste:",
        *export_lines(services),
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def export_lines(services: Services) -> list[str]:
    """`export NAME=value` lines a POSIX shell takes as they are."""
    values = {
        "DATABASE_URL": services.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": services.bootstrap_servers,
        "CHECKOUT_JWT_SECRET": services.jwt_secret,
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def _stop_on_sigterm() -> None:
    """Until the supervisor takes the signals over, SIGTERM unwinds like Ctrl-C does."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_all(settings: Settings) -> int:
    """`run`: refuse at once (RunRefused, exit 2) if this data dir or a port is taken."""
    configure_logging("supervisor")
    base = f"http://{settings.host}:{settings.port}"
    sandbox = sandbox_wiring(settings, base)
    with ExitStack() as stack:
        stack.callback(claim_data_dir(settings.data_dir).release)
        check_ports(settings, with_sandbox=sandbox is not None)
        _stop_on_sigterm()
        try:
            code = _run_supervised(settings, stack, base, sandbox)
        except KeyboardInterrupt:
            log.info("interrupted while starting")
            code = 0
    log.info("stopped", exit_code=code)
    return code


def _publish(
    settings: Settings, services: Services, base: str, sandbox: SandboxWiring | None
) -> Publication:
    return publish(
        EngineState(
            pid=os.getpid(),
            data_dir=str(settings.data_dir),
            api_url=base,
            database_url=services.database_url,
            kafka_bootstrap_servers=services.bootstrap_servers,
            jwt_secret=services.jwt_secret,
            sandbox_url=sandbox.base_url if sandbox else None,
            process_start=process_start(os.getpid()),
        )
    )


def _run_supervised(
    settings: Settings, stack: ExitStack, base: str, sandbox: SandboxWiring | None
) -> int:
    services = resolve_services(settings, stack)
    overrides = {
        "DATABASE_URL": services.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": services.bootstrap_servers,
        "CHECKOUT_JWT_SECRET": services.jwt_secret,
        # Every role on this machine: when the CPU is scarce the followers (projections,
        # relay, worker) go first and the API's intake yields (adr/0024).
        "API_NICENESS": os.environ.get("API_NICENESS", str(ALL_IN_ONE_API_NICENESS)),
    }
    roles = [Role(name, role_command(name)) for name in ENGINE_ROLES]
    if sandbox is not None:
        overrides.update(sandbox.environment)
        roles.insert(0, Role("sandbox", role_command("sandbox", *sandbox.arguments)))
    supervisor = Supervisor(roles, child_environment(overrides))
    supervisor.install_signal_handlers()
    stack.callback(supervisor.stop)
    supervisor.start()
    # Published once the database is up: `catalog load` may run while the API starts.
    publication = _publish(settings, services, base, sandbox)
    stack.callback(publication.withdraw)  # first to go when stopping
    if publication.pointer is None:
        log.warning(
            "could not write the pointer to this engine: other commands find it only "
            "by its data directory (CHECKOUT_DATA_DIR or --data-dir)",
            pointer=str(pointer_path()),
        )
    if not _wait_ready(f"{base}/readyz", 60, supervisor.stopping):
        if supervisor.stopping.is_set():
            log.info("stopped before the API was ready")
            return 0
        log.error("the API did not become ready in 60s", readiness=f"{base}/readyz")
        return 1
    click.echo(
        _banner(services, base, sandbox.base_url if sandbox else None, str(publication.state_file))
    )
    log.info("engine ready", api=base, state_file=str(publication.state_file))
    try:
        supervisor.watch()
    except RoleFailed as exc:
        log.error("stopping: a role keeps dying", reason=str(exc))
        return 1
    log.info("stopping")
    return 0
