"""Where the tests' PostgreSQL and Kafka-protocol broker come from.

Order (issue #2): the environment variables, then testcontainers when a Docker
daemon answers, then the embedded services. Tests never skip for a missing service.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from infrastructure.database import DatabaseAddress


def docker_available() -> bool:
    """True when a Docker daemon answers a ping (without leaking sockets when none does)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        if not Path(path).exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(path)
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b" 200 " in sock.recv(64)
        except OSError:
            return False
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # unreachable daemon of any kind means "no Docker here"
        return False


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield container.get_connection_url()
        return
    from entrypoints.embedded.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(workdir / "pg", delete_on_stop=True)
    try:
        yield server.start()
    finally:
        server.stop()


@contextmanager
def kafka_broker(workdir: Path) -> Iterator[str]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:3.9.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from entrypoints.embedded.broker import EmbeddedBroker

    broker = EmbeddedBroker(workdir / "logs")
    try:
        yield broker.start()
    finally:
        broker.stop()


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at ``server_url``, dropped afterwards."""
    server = DatabaseAddress.parse(server_url)
    name = f"ce_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.with_dbname(name).url
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
