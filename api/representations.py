"""Response bodies built from what the use cases return, and JSON responses from models."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import JSONResponse

from api.schemas import (
    CheckoutCreated,
    CheckoutPayment,
    LineOut,
    OrderOut,
    OrderPayment,
    WebhookDecisionOut,
    WebhookOut,
)
from application.checkout import Placed
from application.parked_webhooks import Decision, ParkedWebhook
from domain import Order, OrderLine, Payment


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def _lines(lines: tuple[OrderLine, ...]) -> list[LineOut]:
    return [
        LineOut(
            sku=line.sku,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            vendor_id=line.vendor_id,
        )
        for line in lines
    ]


def checkout_created(placed: Placed) -> CheckoutCreated:
    """The 201 body; a replay rebuilds it from the first versions, so it is identical."""
    order, payment = placed.order, placed.payment
    return CheckoutCreated(
        order_id=order.id,
        status="PENDING_PAYMENT",
        amount=order.amount,
        currency=order.currency,
        lines=_lines(order.lines),
        payment=CheckoutPayment(
            payment_id=payment.id, provider=payment.provider, status="processing"
        ),
    )


def order_from_aggregates(order: Order, payment: Payment) -> OrderOut:
    """The GET /orders/{id} body, straight from a command's result (no view lag)."""
    return OrderOut(
        order_id=order.id,
        status=order.status,
        amount=order.amount,
        currency=order.currency,
        lines=_lines(order.lines),
        created_at=order.created_on,
        updated_at=order.modified_on,
        payment=OrderPayment(
            payment_id=payment.id, provider=payment.provider, status=payment.status
        ),
    )


def _decision(decision: Decision | None) -> WebhookDecisionOut | None:
    if decision is None:
        return None
    return WebhookDecisionOut(by=decision.by, reason=decision.reason, at=decision.at)


def webhook_out(webhook: ParkedWebhook) -> WebhookOut:
    return WebhookOut.model_validate(
        {
            "webhook_id": webhook.id,
            "provider": webhook.provider,
            "event_id": webhook.event_id,
            "event_type": webhook.event_type,
            "status": webhook.status,
            "attempts": webhook.attempts,
            "error": webhook.error,
            "outcome": webhook.outcome,
            "received_at": webhook.received_at,
            "next_attempt_at": webhook.next_attempt_at,
            "body": webhook.body,
            "dismissed": _decision(webhook.dismissed),
            "replayed": _decision(webhook.replayed),
        }
    )
