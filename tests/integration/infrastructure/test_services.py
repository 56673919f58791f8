"""The real services the suite runs against, and the readiness checks on them."""

from __future__ import annotations

import psycopg
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from entrypoints.bootstrap import build_db
from entrypoints.embedded.broker import free_port
from infrastructure.database import DatabaseAddress
from infrastructure.readiness import check_broker, check_database


def test_each_test_gets_its_own_empty_database(database_url: str) -> None:
    with psycopg.connect(DatabaseAddress.parse(database_url).conninfo) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        version = conn.execute("SHOW server_version_num").fetchone()
    assert tables == (0,)
    assert version is not None
    assert int(version[0]) >= 150000


def test_database_readiness_is_a_real_query(database_url: str) -> None:
    db = build_db(database_url)
    try:
        assert check_database(db).ok
    finally:
        db.dispose()
    unreachable = build_db(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    result = check_database(unreachable)
    unreachable.dispose()
    assert not result.ok
    assert result.detail == "OperationalError"


def test_broker_speaks_kafka(bootstrap_servers: str, topic_suffix: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    topic = f"probe.{topic_suffix}"
    futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    futures[topic].result(timeout=10)
    metadata = admin.list_topics(topic, timeout=10)
    assert len(metadata.topics[topic].partitions) == 3
    assert check_broker(bootstrap_servers).ok


def test_broker_readiness_fails_when_nothing_listens() -> None:
    result = check_broker(f"127.0.0.1:{free_port()}", timeout=1.0)
    assert not result.ok
