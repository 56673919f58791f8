"""With the database unreachable, requests get a retryable 503, never a 500."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from api.app import create_app
from entrypoints.bootstrap import Container, Services
from entrypoints.embedded.broker import free_port
from entrypoints.tokens import mint_token
from infrastructure.settings import load_settings

SECRET = "unit-test-secret-0123456789-abcdefgh"


def test_requests_answer_503_with_retry_after() -> None:
    services = Services(
        f"postgresql://nobody@127.0.0.1:{free_port()}/nothing", "127.0.0.1:1", SECRET
    )
    container = Container(load_settings(), services)
    token = mint_token(SECRET, "alice")
    headers = {"Authorization": f"Bearer {token}"}

    async def exercise() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            checkout = await client.post(
                "/checkout",
                json={"items": [{"sku": "MUG", "quantity": 1}], "provider": "stripe"},
                headers=headers,
            )
            read = await client.get(f"/orders/{uuid.uuid4()}", headers=headers)
            return checkout, read

    try:
        checkout, read = asyncio.run(exercise())
    finally:
        container.close()
    for response in (checkout, read):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "2"
