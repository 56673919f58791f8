"""Operators and parked webhooks over HTTP: a webhook the engine refused is listed with its
body and error, replayed once the cause is fixed, and another one dismissed on record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain import InvalidTransition
from infrastructure.webhooks.events import Applied, Handler, ProviderEvent, WebhookEffects
from infrastructure.webhooks.inbox import InboxStatus
from tests.e2e.conftest import RunningApi
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until

SUCCEEDED = "payment_intent.succeeded"
PROBLEM_JSON = "application/problem+json"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


def _list(api: RunningApi, **params: Any) -> dict[str, Any]:
    response = api.client.get("/admin/webhooks", params=params, headers=api.admin())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _post(
    api: RunningApi, webhook_id: object, action: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    return api.client.post(
        f"/admin/webhooks/{webhook_id}/{action}", json=body, headers=api.admin() | headers
    )


def _problem(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"].endswith(f"/{kind}")


@dataclass
class Refusal:
    """The engine refuses every payment_intent.succeeded, as it refuses an event that
    contradicts what it knows: each is parked, not retried, until ``fix``."""

    handlers: dict[str, Handler]
    real: Handler
    refused: list[str] = field(default_factory=list)

    def refuse(self, event: ProviderEvent, effects: WebhookEffects) -> Applied:
        self.refused.append(event.event_id)
        raise InvalidTransition("payment", "succeed", "under investigation")

    def fix(self) -> None:
        self.handlers[SUCCEEDED] = self.real


@pytest.fixture
def refusing(shop: PaymentShop) -> Iterator[Refusal]:
    # The reception's applier: the one replays go through too (Container.parked_webhooks).
    handlers = shop.api.container.webhooks.applier.handlers["stripe"]
    refusal = Refusal(handlers, handlers[SUCCEEDED])
    handlers[SUCCEEDED] = refusal.refuse
    yield refusal
    refusal.fix()


def _parked_payment(shop: PaymentShop, refusal: Refusal) -> tuple[str, str, dict[str, Any]]:
    """A customer pays; the engine parks the success. (buyer, order id, the listed row)."""
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    assert shop.confirm_card(intent_id) == "succeeded"

    def parked() -> dict[str, Any] | None:
        items = _list(shop.api, status="failed")["items"]
        return next(
            (i for i in items if i["eventType"] == SUCCEEDED and intent_id in i["body"]), None
        )

    row = wait_until(parked, what="the refused success to be parked")
    assert row["eventId"] in refusal.refused
    return buyer, order_id, row


def test_a_parked_webhook_is_listed_and_replayed_once_its_cause_is_fixed(
    shop: PaymentShop, refusing: Refusal
) -> None:
    buyer, order_id, row = _parked_payment(shop, refusing)
    assert row["provider"] == "stripe"
    assert row["status"] == "failed"
    assert row["error"].startswith("InvalidTransition")
    assert row["nextAttemptAt"] is None, "parked: only a person moves it"
    assert row["attempts"] == 1
    assert (row["dismissed"], row["replayed"]) == (None, None)
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"

    refusing.fix()
    key = _key()
    replayed = _post(shop.api, row["webhookId"], "replay", {"reason": "fixed"}, key)

    assert replayed.status_code == 200, replayed.text
    answer = replayed.json()
    assert (answer["status"], answer["attempts"]) == ("processed", 2)
    assert answer["outcome"].startswith("payment succeeded")
    assert answer["error"] == row["error"], "the last failed try stays on record"
    assert answer["replayed"]["by"] == "admin:ops"
    assert answer["replayed"]["reason"] == "fixed"
    assert "Idempotent-Replayed" not in replayed.headers
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")

    again = _post(shop.api, row["webhookId"], "replay", {"reason": "fixed"}, key)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == answer
    _problem(
        _post(shop.api, row["webhookId"], "replay", {}, _key()), 409, "webhook-already-applied"
    )
    dismissed = _post(shop.api, row["webhookId"], "dismiss", {"reason": "late"}, _key())
    _problem(dismissed, 409, "webhook-already-applied")
    _problem(
        _post(shop.api, row["webhookId"], "replay", {"reason": "other"}, key),
        409,
        "idempotency-key-reused",
    )


def _dismissals_counted(api: RunningApi) -> float:
    text = api.client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = {"provider": "stripe", "action": "dismiss"}
            if sample.name == "checkout_webhooks_operated_total" and sample.labels == labels:
                return sample.value
    return 0.0


def test_a_dismissed_webhook_names_who_and_why_and_is_never_applied(
    shop: PaymentShop, refusing: Refusal
) -> None:
    buyer, order_id, row = _parked_payment(shop, refusing)
    key = _key()
    reason = {"reason": "charge disputed at the bank; handled by support"}
    counted = _dismissals_counted(shop.api)

    dismissed = _post(shop.api, row["webhookId"], "dismiss", reason, key)

    assert dismissed.status_code == 200, dismissed.text
    assert _dismissals_counted(shop.api) == counted + 1
    answer = dismissed.json()
    assert answer["status"] == "dismissed"
    assert answer["dismissed"]["by"] == "admin:ops"
    assert answer["dismissed"]["reason"] == reason["reason"]
    assert answer["dismissed"]["at"].endswith("Z")
    listed = _list(shop.api, status="dismissed")["items"]
    assert [item["webhookId"] for item in listed] == [row["webhookId"]]
    assert row["webhookId"] not in [
        i["webhookId"] for i in _list(shop.api, status="failed")["items"]
    ]

    again = _post(shop.api, row["webhookId"], "dismiss", reason, key)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert again.json() == answer
    _problem(_post(shop.api, row["webhookId"], "dismiss", reason, _key()), 409, "webhook-dismissed")
    other = {"reason": "another reason"}
    _problem(
        _post(shop.api, row["webhookId"], "dismiss", other, key), 409, "idempotency-key-reused"
    )
    _problem(_post(shop.api, row["webhookId"], "replay", {}, _key()), 409, "webhook-dismissed")
    # The provider sends the event again: answered, still never applied.
    shop.control("POST", "/webhooks/resend", json={"event_id": row["eventId"]})
    [first, resent] = shop.deliveries(min_count=2, event_id=row["eventId"])
    assert (first["status_code"], resent["status_code"]) == (200, 200), resent
    entry = shop.inbox.get("stripe", row["eventId"])
    assert entry is not None
    assert (entry.status, entry.attempts) == (InboxStatus.DISMISSED, 1)
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"


@pytest.fixture
def failed_row(api: RunningApi) -> int:
    """A failed row, due again now, as a database hiccup leaves one."""
    inbox = api.container.webhook_inbox
    entry = inbox.accept("stripe", f"evt_{uuid.uuid4().hex}", "charge.succeeded", b"{}", {}).entry
    assert inbox.fail(entry, "ConnectionError: hiccup", retry_in=0.0)
    return entry.id


def test_bad_requests_are_problems_that_change_nothing(api: RunningApi, failed_row: int) -> None:
    before = _list(api)["items"]
    reason = {"reason": "x"}
    _problem(_post(api, failed_row + 1000, "replay", {}, _key()), 404, "not-found")
    _problem(_post(api, failed_row + 1000, "dismiss", reason, _key()), 404, "not-found")
    for bad_id in ("abc", "0", "-1", "1.5", str(2**63)):
        _problem(_post(api, bad_id, "dismiss", reason, _key()), 404, "not-found")
    _problem(_post(api, failed_row, "dismiss", {}, _key()), 400, "invalid-request")
    _problem(_post(api, failed_row, "dismiss", {"reason": " "}, _key()), 400, "invalid-request")
    _problem(
        _post(api, failed_row, "dismiss", {"reason": "x" * 501}, _key()), 400, "invalid-request"
    )
    _problem(_post(api, failed_row, "dismiss", reason, {}), 400, "invalid-request")
    control = {"reason": "line one\nline two"}
    _problem(_post(api, failed_row, "dismiss", control, _key()), 422, "out-of-bounds")
    _problem(_post(api, failed_row, "replay", {"why": "x"}, _key()), 400, "invalid-request")
    bodiless = api.client.post(f"/admin/webhooks/{failed_row}/replay", headers=api.admin() | _key())
    _problem(bodiless, 400, "malformed-json")
    for params in ({"status": "processed"}, {"limit": 0}, {"limit": 201}, {"cursor": "nope"}):
        response = api.client.get("/admin/webhooks", params=params, headers=api.admin())
        _problem(response, 400, "invalid-request")

    assert _list(api)["items"] == before


def test_a_webhook_being_applied_is_a_conflict_to_retry_later(api: RunningApi) -> None:
    # Recorded by a delivery whose request is applying it right now: its lease runs.
    inbox = api.container.webhook_inbox
    entry = inbox.accept("stripe", f"evt_{uuid.uuid4().hex}", "charge.succeeded", b"{}", {})

    for action, body in (("replay", {}), ("dismiss", {"reason": "not now"})):
        response = _post(api, entry.entry.id, action, body, _key())
        _problem(response, 409, "webhook-being-applied")
        assert int(response.headers["Retry-After"]) >= 1

    [row] = _list(api, status="pending")["items"]
    assert (row["attempts"], row["replayed"], row["dismissed"]) == (1, None, None)


def test_who_may_list_replay_and_dismiss(api: RunningApi, failed_row: int) -> None:
    auditor = api.auth("aud", ["auditor"])
    listed = api.client.get("/admin/webhooks", headers=auditor)
    assert listed.status_code == 200, listed.text
    assert [item["webhookId"] for item in listed.json()["items"]] == [failed_row]
    for headers in (auditor, api.auth("cust-1")):
        for action in ("replay", "dismiss"):
            response = api.client.post(
                f"/admin/webhooks/{failed_row}/{action}",
                json={"reason": "x"},
                headers=headers | _key(),
            )
            _problem(response, 403, "forbidden")
    assert api.client.get("/admin/webhooks").status_code == 401
    [row] = _list(api, status="failed")["items"]
    assert (row["status"], row["dismissed"], row["replayed"]) == ("failed", None, None)


def test_the_listing_pages_newest_first(api: RunningApi) -> None:
    inbox = api.container.webhook_inbox
    ids = [
        inbox.accept("razorpay", f"sha256:{n}", "payment.captured", b"{}", {}).entry.id
        for n in range(5)
    ]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "status": "pending"}
        if cursor is not None:
            params["cursor"] = cursor
        page = _list(api, **params)
        seen += [item["webhookId"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert _list(api, status="failed")["items"] == []
