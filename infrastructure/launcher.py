"""Starts roles: one alone (production) or all of them under the supervisor (`run`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import click
import httpx
import uvicorn

from infrastructure.bootstrap import Container, Services, build_container
from infrastructure.embedded import embedded_database_url, jwt_secret_for, resolve_services
from infrastructure.embedded.providers import sandbox_wiring
from infrastructure.observability import configure_logging
from infrastructure.roles import NamedLoop, run_loops
from infrastructure.settings import Settings
from infrastructure.supervisor import Role, RoleFailed, Supervisor, child_environment, role_command
from infrastructure.tokens import mint_token
from projections.migrations import upgrade_database


@contextmanager
def open_container(settings: Settings, role: str) -> Iterator[Container]:
    """A container for a one-shot command; embedded PostgreSQL when DATABASE_URL is unset."""
    configure_logging(role)
    with ExitStack() as stack:
        database_url = embedded_database_url(settings, stack)
        services = Services(
            database_url, settings.kafka_bootstrap_servers or "", jwt_secret_for(settings)
        )
        container = build_container(settings, services)
        stack.callback(container.close)
        yield container


# The roles `run` supervises, besides the provider sandbox when no keys are set.
ENGINE_ROLES = ("api", "projector", "relay", "worker")


def run_api(settings: Settings) -> None:
    from api.app import create_app

    configure_logging("api")
    services = Services.from_settings(settings)
    container = build_container(settings, services)
    upgrade_database(container.sql)  # the views it reads, the inbox it writes (adr/0012)
    uvicorn.run(
        create_app(container),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def run_projector(settings: Settings) -> int:
    """Every projection, each on its own runner thread (one active instance per lock)."""
    from projections import ALL_PROJECTIONS
    from projections.runner import ProjectionRunner

    configure_logging("projector")
    container = build_container(settings, Services.from_settings(settings, jwt=False))
    try:
        loops = [
            NamedLoop(
                f"projection:{projection.name}",
                ProjectionRunner(container.app, container.sql, projection).run_forever,
            )
            for projection in ALL_PROJECTIONS
        ]
        return run_loops(loops)
    finally:
        container.close()


def run_relay_role(settings: Settings) -> int:
    """The outbox relay: one active per database (advisory lock), the others stand by."""
    from infrastructure.relay import run_relay

    configure_logging("relay")
    services = Services.from_settings(settings, jwt=False)

    def relay(stop: threading.Event) -> None:
        run_relay(
            services.database_url,
            services.bootstrap_servers,
            settings.kafka_topic_order_confirmed,
            stop,
            partitions=settings.kafka_topic_partitions,
        )

    return run_loops([NamedLoop("relay", relay)])


def run_worker(settings: Settings) -> int:
    """Provider calls and the expiry reaper; starts fine with no provider configured."""
    from infrastructure.worker.assembly import WorkerOptions, worker_loops
    from infrastructure.worker.retention import RetentionPolicy

    configure_logging("worker")
    container = build_container(settings, Services.from_settings(settings, jwt=False))
    try:
        retention = RetentionPolicy(
            webhooks=timedelta(days=settings.webhook_retention_days),
            tasks=timedelta(days=settings.task_retention_days),
        )
        loops = worker_loops(
            container.app,
            container.sql,
            container.gateways,
            container.clock,
            WorkerOptions(retention=retention),
            sessions=container.checkout_sessions,
        )
        return run_loops(loops)
    finally:
        container.close()


def _wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return False


def _banner(services: Services, base: str, sandbox: str | None) -> str:
    customer = mint_token(services.jwt_secret, "customer-demo", (), 24 * 3600)
    admin = mint_token(services.jwt_secret, "admin-demo", ("admin",), 24 * 3600)
    lines = [
        "checkout-engine is running",
        f"  storefront    {base}/storefront#token={customer}",
        f"  admin         {base}/admin#token={admin}",
        f"  API           {base}   (OpenAPI: {base}/openapi.json)",
        f"  readiness     {base}/readyz   metrics: {base}/metrics",
        f"  database      {services.database_url}",
        f"  broker        {services.bootstrap_servers}",
        f"  providers     {sandbox + ' (built-in sandbox)' if sandbox else 'configured keys'}",
        f"  customer JWT  {customer}",
        f"  admin JWT     {admin}",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def run_all(settings: Settings) -> int:
    configure_logging("supervisor")
    with ExitStack() as stack:
        services = resolve_services(settings, stack)
        base = f"http://{settings.host}:{settings.port}"
        overrides = {
            "DATABASE_URL": services.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": services.bootstrap_servers,
            "CHECKOUT_JWT_SECRET": services.jwt_secret,
        }
        roles = [Role(name, role_command(name)) for name in ENGINE_ROLES]
        sandbox = sandbox_wiring(settings, base)
        if sandbox is not None:
            overrides.update(sandbox.environment)
            roles.insert(0, Role("sandbox", role_command("sandbox", *sandbox.arguments)))
        supervisor = Supervisor(roles, child_environment(overrides))
        supervisor.install_signal_handlers()
        stack.callback(supervisor.stop)
        supervisor.start()
        if not _wait_ready(f"{base}/readyz", timeout=60):
            click.echo("checkout-engine: error: the API did not become ready in 60s", err=True)
            return 1
        click.echo(_banner(services, base, sandbox.base_url if sandbox else None))
        try:
            supervisor.watch()
        except RoleFailed as exc:
            click.echo(f"checkout-engine: error: {exc}", err=True)
            return 1
    return 0
