"""For a process that drives an engine from outside it, as the bench does: a container on
services started elsewhere, the broker's topics, and the database URLs and persistence
settings the engine's own processes use. Built on the composition root (entrypoints.bootstrap).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from entrypoints.bootstrap import Container, Services
from infrastructure.database import DatabaseAddress

if TYPE_CHECKING:
    from infrastructure.relay import RelayTopics


def container_from_environment(
    database_url: str, bootstrap_servers: str, *, pool_size: int = 10
) -> Container:
    """A container on these services, its other settings from this process's environment,
    as the engine's processes started with that environment have them. It has no JWT
    secret: such a process mints its own tokens."""
    from infrastructure.settings import load_settings

    services = Services(database_url, bootstrap_servers, jwt_secret="")
    return Container(load_settings(), services, pool_size=pool_size)


def create_topics(container: Container, names: Iterable[str], partitions: int = 1) -> None:
    """Create those of ``names`` the broker lacks; existing topics stay as they are."""
    from infrastructure.relay import RelayOptions, ensure_topics

    config = {"bootstrap.servers": container.services.bootstrap_servers}
    ensure_topics(config, list(names), partitions, RelayOptions().replication)


def create_relay_topics(container: Container) -> RelayTopics:
    """The relay's topics, created with the settings' partition count before anything asks
    the broker about them: one that auto-creates topics (Tansu) would choose the count."""
    from infrastructure.relay import RelayTopics

    topics = RelayTopics(confirmed=container.settings.kafka_topic_order_confirmed)
    create_topics(container, topics.names, container.settings.kafka_topic_partitions)
    return topics


def libpq_url(database_url: str) -> str:
    """``database_url`` as libpq, and so psycopg, takes it (no SQLAlchemy driver name)."""
    return DatabaseAddress.parse(database_url).conninfo


def database_url_for(server_url: str, dbname: str) -> str:
    """The URL of the database ``dbname`` on the server that ``server_url`` points at."""
    return DatabaseAddress.parse(server_url).with_dbname(dbname).url


def event_store_env(database_url: str, *, pool_size: int = 10) -> dict[str, str]:
    """The eventsourcing persistence settings ``build_application`` runs the engine with
    (one table lock per insert, no pre-ping), for another Application to run under."""
    return DatabaseAddress.parse(database_url).eventsourcing_env(pool_size=pool_size)
