"""The composition root: builds every collaborator from settings. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress
from infrastructure.settings import Settings


@dataclass(frozen=True)
class Services:
    """Where the running services are, after embedded ones have been started."""

    database_url: str
    bootstrap_servers: str
    jwt_secret: str

    @classmethod
    def from_settings(cls, settings: Settings, *, jwt: bool = True) -> Services:
        settings.require_services(jwt=jwt)
        assert settings.database_url
        assert settings.kafka_bootstrap_servers
        return cls(
            settings.database_url,
            settings.kafka_bootstrap_servers,
            settings.checkout_jwt_secret or "",
        )


@dataclass
class Container:
    settings: Settings
    services: Services
    _sql: Engine | None = field(default=None, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)

    @property
    def database(self) -> DatabaseAddress:
        return DatabaseAddress.parse(self.services.database_url)

    @property
    def sql(self) -> Engine:
        if self._sql is None:
            self._sql = self.database.sqlalchemy_engine()
        return self._sql

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        if self._sql is not None:
            self._sql.dispose()
            self._sql = None


def build_container(settings: Settings, services: Services) -> Container:
    return Container(settings=settings, services=services)
