"""Health, readiness and metrics over HTTP, against the real services."""

from __future__ import annotations

import re

from tests.e2e.conftest import RunningApi


def test_liveness_and_readiness(api: RunningApi) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True
    assert ready.json()["checks"]["broker"]["ok"] is True


def test_metrics_show_requests_and_the_outbox_backlog(api: RunningApi) -> None:
    assert api.checkout("alice", [{"sku": "SKU-1", "quantity": 1}]).status_code == 201
    text = api.client.get("/metrics").text
    assert 'checkout_http_requests_total{method="POST",route="/checkout",status="201"}' in text
    # No relay runs in this fixture, so everything written so far is backlog.
    match = re.search(r"^checkout_outbox_backlog_events (\S+)$", text, re.MULTILINE)
    assert match is not None
    assert float(match.group(1)) == api.head()
