"""Liveness, readiness (really reaches the database and the broker) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infrastructure.bootstrap import Container
from infrastructure.readiness import check_broker, check_database


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    container: Container = request.app.state.container
    database, broker = await asyncio.gather(
        run_in_threadpool(check_database, container.sql),
        run_in_threadpool(check_broker, container.services.bootstrap_servers),
    )
    checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in (database, broker)}
    ready = database.ok and broker.ok
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
