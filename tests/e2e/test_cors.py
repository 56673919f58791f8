"""CORS: browsers on listed origins may call the API; others get no allow-origin header."""

from __future__ import annotations

from tests.e2e.conftest import StartApi

ALLOWED = "https://shop.example"


def _preflight(start_api: StartApi, origin: str) -> dict[str, str]:
    api = start_api(CORS_ORIGINS=f"{ALLOWED},https://admin.example")
    response = api.client.options(
        "/checkout",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    return dict(response.headers)


def test_an_allowed_origin_preflight_is_answered(start_api: StartApi) -> None:
    headers = _preflight(start_api, ALLOWED)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in headers["access-control-allow-methods"]
    assert "idempotency-key" in headers["access-control-allow-headers"].lower()


def test_an_unlisted_origin_gets_no_allow_origin(start_api: StartApi) -> None:
    headers = _preflight(start_api, "https://evil.example")
    assert "access-control-allow-origin" not in headers


def test_without_cors_origins_no_cors_headers_are_sent(start_api: StartApi) -> None:
    api = start_api()
    response = api.client.get("/healthz", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers
