"""The console's operator commands as a person uses them: capturing part of an
authorization and voiding another (adr/0027), replaying and dismissing parked webhooks
(adr/0025), and resolving a reconciliation's amount mismatch (adr/0028), each after a
confirmation that says what happens to the money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import OpenVisit, Visit
from tests.e2e.browser.demo_pages import admin_link, table, text
from tests.e2e.browser.test_pages_console import PHONE, lost_once, overflow, sent_by
from tests.e2e.payment_shop import OpenShop, PaymentShop, customer
from tests.e2e.test_parked_webhooks import SUCCEEDED, Refusal
from tests.waiting import wait_until

REASON = "ship the <b>cup</b> only"  # markup an operator typed shows as typed


def authorized_order(shop: PaymentShop) -> tuple[str, str, dict[str, Any]]:
    """A new customer's manual-capture order of 2 x $12.50, authorized as stripe.js would."""
    return shop.authorized_order("stripe")


def facts(page: Page, selector: str) -> dict[str, str]:
    return {row[0]: row[1] for row in table(page, selector)}


def test_the_admin_captures_part_of_an_authorization_after_confirming_what_is_released(
    open_shop: OpenShop, open_visit: OpenVisit
) -> None:
    shop = open_shop()
    order_id, buyer, payment = authorized_order(shop)
    # A second operator's tab has the whole capture confirmed and waiting.
    other = open_visit().page
    other.goto(f"{admin_link(shop.api)}&order={order_id}")
    other.get_by_label("Capture reason").fill("ship it all")
    other.get_by_role("button", name="Review capture").click()
    expect(other.locator("#capture-summary")).to_have_text("Capture the whole $25.00 authorized")
    visit = open_visit()
    page = visit.page
    sent = sent_by(page)
    page.goto(f"{admin_link(shop.api)}&order={order_id}")

    summary = page.locator("#summary")
    expect(summary).to_contain_text("Authorized, waiting for capture: $25.00 held by stripe")
    assert facts(page, "#payment")["Status"] == "authorized (Authorized, waiting for capture)"
    expect(page.locator("#capture-form")).to_be_visible()
    expect(page.locator("#void-form")).to_be_visible()
    expect(page.locator("#refund-form")).to_be_hidden()  # nothing is captured to refund
    expect(page.locator("#capture-held")).to_have_text(
        "$25.00 authorized at stripe, not captured yet."
    )

    # More than is held is refused in the page; nothing is sent.
    page.get_by_label("Capture amount").fill("25.01")
    page.get_by_label("Capture reason").fill(REASON)
    page.get_by_role("button", name="Review capture").click()
    expect(page.locator("#error")).to_have_text("$25.01 is more than is authorized ($25.00).")
    expect(page.locator("#capture-confirm")).to_be_hidden()

    # A part: what is captured and what goes back to the customer, said before anything is.
    page.get_by_label("Capture amount").fill("15")
    page.get_by_role("button", name="Review capture").click()
    expect(page.locator("#capture-summary")).to_have_text(
        "Capture $15.00 of $25.00 authorized; $10.00 is released to the customer"
    )
    expect(page.get_by_role("button", name="Confirm capture")).to_be_focused()
    capture_path = f"/admin/orders/{order_id}/capture"
    assert sent.to("POST", capture_path) == []
    # No answer to the first try: the same capture goes again under the same key, once
    # however often it is clicked.
    page.route(f"**{capture_path}", lost_once())
    page.get_by_role("button", name="Confirm capture").click()
    expect(page.locator("#error")).to_contain_text("Nothing was decided")
    expect(page.locator("#capture-confirm")).to_be_visible()
    page.get_by_role("button", name="Confirm capture").dblclick()

    expect(summary.locator("tr").filter(has_text="Status")).to_contain_text("PAYMENT_CONFIRMED")
    expect(page.locator("#notice")).to_have_text(
        "Captured $15.00: the order is PAYMENT_CONFIRMED; $10.00 released."
    )
    lost, posted = sent.to("POST", capture_path)
    assert posted.post_data_json == {"amount": 1500, "reason": REASON}
    assert lost.post_data_json == posted.post_data_json
    assert lost.headers["idempotency-key"] == posted.headers["idempotency-key"] != ""
    assert shop.stripe_intent(payment["gatewayOrderId"]).amount_received == 1500
    shown = facts(page, "#summary")
    assert (shown["Amount"], shown["Captured"], shown["Left to refund"]) == (
        "$25.00",
        "$15.00",
        "$15.00",
    )
    assert "Payment" not in shown  # no longer waiting for capture
    assert facts(page, "#payment")["Captured"] == "$15.00 ($10.00 released)"
    # Captured once: no second capture, no void; what was captured can be refunded.
    expect(page.locator("#capture-form")).to_be_hidden()
    expect(page.locator("#void-form")).to_be_hidden()
    expect(page.locator("#refund-left")).to_have_text("Left to refund: $15.00 of $25.00 paid.")
    asked = page.locator("#timeline tbody tr").filter(has_text="Payment.CaptureRequested")
    expect(asked.locator("td").nth(1)).to_have_text("admin:ops")
    expect(asked.locator("td").nth(4)).to_contain_text(REASON)
    assert page.locator("#detail b, #notice b").count() == 0
    assert shop.order(order_id, buyer)["status"] == "PAYMENT_CONFIRMED"

    # The other tab's capture comes too late: the engine's refusal, as the problem it is,
    # and the order as it now stands, with nothing more to capture.
    with other.expect_response(lambda r: r.request.method == "POST") as answered:
        other.get_by_role("button", name="Confirm capture").click()
    assert answered.value.status == 409
    problem = answered.value.json()
    expect(other.locator("#error")).to_have_text(f"{problem['title']}: {problem['detail']}")
    expect(other.locator("#summary tr").filter(has_text="Status")).to_contain_text(
        "PAYMENT_CONFIRMED"
    )
    expect(other.locator("#capture-confirm")).to_be_hidden()
    expect(other.locator("#capture-form")).to_be_hidden()
    assert shop.stripe_intent(payment["gatewayOrderId"]).amount_received == 1500
    [lost_log] = visit.errors()
    assert "net::ERR_FAILED" in lost_log
    assert visit.csp_violations() == []
    assert visit.dialogs == []


def test_at_a_phones_width_the_admin_voids_an_authorization_by_keyboard(
    open_shop: OpenShop, open_visit: OpenVisit
) -> None:
    shop = open_shop()
    order_id, buyer, payment = authorized_order(shop)
    visit = open_visit(viewport=PHONE)
    page = visit.page
    sent = sent_by(page)
    page.goto(f"{admin_link(shop.api)}&order={order_id}")

    reason = page.get_by_label("Void reason")
    expect(reason).to_be_visible()
    assert overflow(page) == 0
    reason.focus()
    page.keyboard.type("customer called to cancel")
    page.keyboard.press("Enter")
    expect(page.locator("#void-summary")).to_have_text(
        "Release the $25.00 authorization and cancel the order"
    )
    expect(page.get_by_role("button", name="Confirm void")).to_be_focused()
    assert overflow(page) == 0
    # Escape steps back without sending; the second look is confirmed with the keyboard.
    page.keyboard.press("Escape")
    expect(page.locator("#void-confirm")).to_be_hidden()
    expect(reason).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Confirm void")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#notice")).to_have_text("Authorization released: the order is CANCELLED.")
    expect(page.locator("#summary tr").filter(has_text="Status")).to_contain_text("CANCELLED")
    expect(page.locator("#no-actions")).to_be_visible()
    expect(page.locator("#capture-form")).to_be_hidden()
    expect(page.locator("#void-form")).to_be_hidden()
    [voided] = sent.to("POST", f"/admin/orders/{order_id}/void")
    assert voided.post_data_json == {"reason": "customer called to cancel"}
    assert voided.headers["idempotency-key"] != ""
    assert shop.order(order_id, buyer)["status"] == "CANCELLED"
    wait_until(
        lambda: shop.stripe_intent(payment["gatewayOrderId"]).status == "canceled",
        what="the worker to cancel the intent at Stripe",
    )
    assert overflow(page) == 0
    assert visit.errors() == []
    assert visit.csp_violations() == []


def _parked(shop: PaymentShop, intent_id: str) -> dict[str, Any] | None:
    response = shop.api.client.get(
        "/admin/webhooks", params={"status": "failed"}, headers=shop.api.admin()
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return next((i for i in items if i["eventType"] == SUCCEEDED and intent_id in i["body"]), None)


def _parked_payment(shop: PaymentShop) -> tuple[str, str, str, dict[str, Any]]:
    """A customer pays; the engine parks the success: (buyer, order, intent, listed row)."""
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    assert shop.confirm_card(intent_id) == "succeeded"
    row = wait_until(lambda: _parked(shop, intent_id), what="the success to be parked")
    return buyer, order_id, intent_id, row


def test_parked_webhooks_are_dismissed_and_replayed_from_the_console(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    # The engine refuses every payment success, as it refuses an event that contradicts
    # what it knows: each is parked for a person (tests/e2e/test_parked_webhooks.py).
    handlers = shop.api.container.webhooks.applier.handlers["stripe"]
    refusal = Refusal(handlers, handlers[SUCCEEDED])
    handlers[SUCCEEDED] = refusal.refuse
    try:
        rows = [_parked_payment(shop), _parked_payment(shop)]
        [(kept_buyer, kept, kept_intent, to_replay), (dropped_buyer, dropped, _, to_dismiss)] = rows
        page = visit.page
        sent = sent_by(page)
        page.goto(admin_link(shop.api))
        page.get_by_role("link", name="Parked webhooks").click()

        expect(page.get_by_label("Webhook status")).to_have_value("failed")
        listed = page.locator("#webhook-list tbody tr")
        replayed_row = listed.filter(has_text=to_replay["eventId"])
        expect(replayed_row).to_have_count(1)
        cells = replayed_row.locator("td").all_text_contents()
        assert cells[1:6] == [
            "stripe",
            SUCCEEDED,
            to_replay["eventId"],
            "failed (parked)",
            "1",
        ]
        assert cells[6].startswith("InvalidTransition")
        # The raw body is there, collapsed until asked for.
        body = replayed_row.locator("details")
        expect(body.locator("pre")).to_be_hidden()
        body.locator("summary").click()
        expect(body.locator("pre")).to_contain_text(kept_intent)

        # A dismissal needs a reason, and says it is for good.
        page.get_by_role("button", name=f"Dismiss {SUCCEEDED} {to_dismiss['eventId']}").click()
        expect(page.locator("#webhook-summary")).to_have_text(
            f"Never apply stripe {SUCCEEDED} {to_dismiss['eventId']}"
        )
        page.get_by_role("button", name="Confirm dismissal").click()
        expect(page.locator("#error")).to_have_text("A dismissal needs a reason.")
        page.get_by_label("Dismissal reason").fill("paid twice by mistake; refunded by phone")
        page.get_by_role("button", name="Confirm dismissal").click()
        expect(page.locator("#notice")).to_have_text(
            f"Webhook {to_dismiss['eventId']} ({SUCCEEDED}) dismissed."
        )
        expect(listed.filter(has_text=to_dismiss["eventId"])).to_have_count(0)

        # Once the cause is fixed, a replay applies it and says what it did.
        refusal.fix()
        page.get_by_role("button", name=f"Replay {SUCCEEDED} {to_replay['eventId']}").click()
        expect(page.locator("#webhook-summary")).to_have_text(
            f"Apply stripe {SUCCEEDED} {to_replay['eventId']} again now"
        )
        page.get_by_label("Replay reason").fill("handler fixed")
        page.get_by_role("button", name="Confirm replay").click()
        expect(page.locator("#notice")).to_contain_text(
            f"Webhook {to_replay['eventId']} ({SUCCEEDED}) processed: payment succeeded"
        )
        expect(replayed_row).to_have_count(0)
        shop.wait_order(kept, kept_buyer, "PAYMENT_CONFIRMED")
        paths = [
            f"/admin/webhooks/{r['webhookId']}/{a}"
            for r, a in ((to_dismiss, "dismiss"), (to_replay, "replay"))
        ]
        [dismissal] = sent.to("POST", paths[0])
        [replay] = sent.to("POST", paths[1])
        assert dismissal.post_data_json == {"reason": "paid twice by mistake; refunded by phone"}
        assert replay.post_data_json == {"reason": "handler fixed"}
        assert dismissal.headers["idempotency-key"] != replay.headers["idempotency-key"]

        # What was dismissed stays on record, naming who and why, with nothing to do.
        page.get_by_label("Webhook status").select_option("dismissed")
        page.get_by_role("button", name="Show", exact=True).click()
        on_record = listed.filter(has_text=to_dismiss["eventId"])
        expect(on_record).to_contain_text(
            "Dismissed by admin:ops: paid twice by mistake; refunded by phone"
        )
        expect(on_record.get_by_role("button")).to_have_count(0)
        assert shop.payment(dropped, dropped_buyer)["status"] == "pending"
        assert visit.errors() == []
        assert visit.csp_violations() == []
    finally:
        refusal.fix()


def test_an_amount_mismatch_is_resolved_from_the_console_once(
    open_shop: OpenShop, visit: Visit
) -> None:
    shop = open_shop()
    order_id, _, payment = authorized_order(shop)
    intent_id = payment["gatewayOrderId"]
    # Captured in the dashboard, for less, while its webhooks are lost; reconciliation finds it.
    shop.control("POST", "/webhooks/hold")
    shop.stripe.v1.payment_intents.capture(intent_id, {"amount_to_capture": 1000})
    now = datetime.now(UTC)
    job = shop.api.container.reconciliation_job
    [run] = job.run("cli:ops", "stripe", now - timedelta(hours=1), now + timedelta(minutes=1))
    assert run.discrepancies == {"amount_mismatch": 1}
    page = visit.page
    sent = sent_by(page)
    page.goto(admin_link(shop.api))
    page.get_by_role("link", name="Capture reviews").click()

    expect(page.get_by_label("Review status")).to_have_value("open")
    review = page.locator("#review-list tbody tr").filter(has_text=order_id)
    expect(review).to_have_count(1)
    cells = review.locator("td").all_text_contents()
    assert cells[1:6] == ["amount_mismatch", "stripe", intent_id, "$10.00", order_id]
    assert cells[8] == "open"
    runs = page.locator("#run-list tbody tr").filter(has_text="amount_mismatch: 1")
    expect(runs.first).to_contain_text("cli:ops")
    assert runs.first.locator("td").all_text_contents()[3] == "completed"

    review.get_by_role("button", name="Resolve").click()
    expect(page.locator("#resolve-summary")).to_have_text(
        f"Resolve the amount_mismatch review of order {order_id}: $10.00 at stripe"
    )
    expect(page.get_by_label("Resolution")).to_be_focused()
    # Escape steps back to the row's button; Enter there opens it again.
    page.keyboard.press("Escape")
    expect(page.locator("#resolve-form")).to_be_hidden()
    expect(review.get_by_role("button", name="Resolve")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Resolution")).to_be_focused()
    page.get_by_role("button", name="Confirm resolution").click()
    expect(page.locator("#error")).to_have_text("A resolution needs a reason.")
    page.get_by_label("Resolution").fill(REASON)
    page.get_by_role("button", name="Confirm resolution").click()
    expect(page.locator("#notice")).to_have_text(f"Review resolved by admin:ops: {REASON}")
    expect(review).to_have_count(0)  # no longer open

    # Resolved, on record, and not offered again.
    page.get_by_label("Review status").select_option("resolved")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(review).to_have_count(1)
    expect(review.locator("td").nth(8)).to_have_text("resolved")
    expect(review.locator("td").nth(9)).to_contain_text(f"Resolved by admin:ops: {REASON}")
    expect(review.get_by_role("button")).to_have_count(0)
    [resolved] = [r for r in sent.requests if r.method == "POST"]
    assert resolved.post_data_json == {"reason": REASON}
    assert page.locator("#reviews b").count() == 0
    assert text(page, "#error") == ""
    assert visit.errors() == []
    assert visit.csp_violations() == []
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})
