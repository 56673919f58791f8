"""The API served for real: uvicorn on a loopback port, projections running, a seeded catalog.

Each test gets its own database (see tests/conftest.py), so its own engine; `start_api`
lets a test choose settings (rate limits, CORS) before the server starts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from application.catalog import CatalogEntry
from domain import Stock
from entrypoints.bootstrap import Container, Services
from entrypoints.tokens import mint_token
from infrastructure.settings import load_settings
from projections import ALL_PROJECTIONS
from projections.tracking import position
from tests.waiting import wait_until

JWT_SECRET = "e2e-secret-that-is-long-enough-for-hs256-0123456789"

CATALOG = [
    CatalogEntry("SKU-1", "Espresso cup", "vendor-a", 1250, "USD", 100),
    CatalogEntry("SKU-2", "Saucer", "vendor-b", 499, "USD", 5),
    CatalogEntry("SKU-EUR", "Teapot", "vendor-c", 3000, "EUR", 10),
    CatalogEntry("SKU-OFF", "Retired mug", "vendor-a", 800, "USD", 10, active=False),
]

DEFAULT_SETTINGS = {
    "RATE_LIMIT_PER_CUSTOMER": "60/minute",
    "RATE_LIMIT_PER_IP": "1200/minute",
    "CORS_ORIGINS": "",
}


@dataclass
class RunningApi:
    base_url: str
    container: Container
    client: httpx.Client

    def token(self, subject: str, roles: Iterable[str] = (), ttl: int = 3600) -> str:
        return mint_token(JWT_SECRET, subject, roles, ttl)

    def auth(self, subject: str, roles: Iterable[str] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, roles)}"}

    def admin(self) -> dict[str, str]:
        return self.auth("ops", ["admin"])

    def head(self) -> int:
        return self.container.app.head_position()

    def stock(self, sku: str) -> Stock:
        return self.container.app.load(Stock, Stock.id_for(sku))

    def checkout(
        self, customer: str, items: list[dict[str, Any]], provider: str = "stripe", **kwargs: Any
    ) -> httpx.Response:
        headers = self.auth(customer) | kwargs.pop("headers", {})
        body = {"items": items, "provider": provider}
        return self.client.post("/checkout", json=body, headers=headers, **kwargs)


def _run_projections(container: Container, stack: ExitStack) -> None:
    """The projector role's loops, on threads of the test process."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=loop.name, daemon=True)
        for loop in container.projector_loops()
    ]
    for thread in threads:
        thread.start()

    def stop_all() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    stack.callback(stop_all)


def _serve(container: Container, stack: ExitStack) -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    stack.callback(sock.close)
    config = uvicorn.Config(create_app(container), log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=15)

    stack.callback(stop)
    wait_until(lambda: server.started, timeout=15, what="uvicorn started")
    host, port = sock.getsockname()
    return f"http://{host}:{port}"


StartApi = Callable[..., RunningApi]


@pytest.fixture
def start_api(database_url: str, bootstrap_servers: str) -> Iterator[StartApi]:
    """Start the API with settings overrides (environment variable names as keys)."""
    with ExitStack() as stack:

        def start(**overrides: str) -> RunningApi:
            settings = load_settings(**(DEFAULT_SETTINGS | overrides))
            services = Services(database_url, bootstrap_servers, JWT_SECRET)
            container = Container(settings, services)
            stack.callback(container.close)
            container.upgrade_database()  # as each role does when it starts
            container.catalog.upsert(CATALOG)
            base_url = _serve(container, stack)
            # Registered after the server, so stopped before it closes the container.
            _run_projections(container, stack)
            # The seeded catalog is in the views before any test (or page) reads them: a
            # page that lists products once would otherwise race the catalog view.
            head = container.app.head_position()
            wait_until(
                lambda: all(position(container.db, p.name) >= head for p in ALL_PROJECTIONS),
                timeout=30,
                what="the views to catch up with the seeded catalog",
            )
            client = stack.enter_context(httpx.Client(base_url=base_url, timeout=30))
            return RunningApi(base_url, container, client)

        yield start


@pytest.fixture
def api(start_api: StartApi) -> RunningApi:
    return start_api()
