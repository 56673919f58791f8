"""Without pool pre-ping, a connection the server dropped is retried, not surfaced."""

from __future__ import annotations

import psycopg

from domain import Stock
from entrypoints.bootstrap import build_application
from infrastructure.database import DatabaseAddress


def test_save_and_load_survive_terminated_backends(database_url: str) -> None:
    address = DatabaseAddress.parse(database_url)
    app = build_application(database_url, pool_size=2)
    try:
        app.save(Stock.create("BEFORE", 1))
        with psycopg.connect(address.conninfo, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        app.save(Stock.create("AFTER", 2))
        assert app.load(Stock, Stock.id_for("AFTER")).on_hand == 2
        assert app.load(Stock, Stock.id_for("BEFORE")).on_hand == 1
    finally:
        app.close()
