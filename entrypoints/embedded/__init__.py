"""Embedded services for whatever is not configured (adr/0002)."""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path

from entrypoints.bootstrap import Services
from entrypoints.embedded.broker import EmbeddedBroker
from entrypoints.embedded.postgres import EmbeddedPostgres
from infrastructure.settings import Settings


def jwt_secret_for(settings: Settings) -> str:
    """The configured secret, or one generated once and kept under the data dir."""
    if settings.checkout_jwt_secret:
        return settings.checkout_jwt_secret
    path = settings.data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def embedded_database_url(settings: Settings, stack: ExitStack) -> str:
    if settings.database_url:
        return settings.database_url
    postgres = EmbeddedPostgres(settings.data_dir / "pg")
    url = postgres.start()
    stack.callback(postgres.stop)
    return url


def resolve_services(settings: Settings, stack: ExitStack) -> Services:
    """Start what is not configured; `stack` stops it again, in reverse order."""
    database_url = embedded_database_url(settings, stack)
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        broker = EmbeddedBroker(Path(settings.data_dir / "logs"))
        bootstrap = broker.start()
        stack.callback(broker.stop)
    return Services(database_url, bootstrap, jwt_secret_for(settings))
