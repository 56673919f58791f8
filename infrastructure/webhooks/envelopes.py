"""The outer shape of each provider's event, read once the signature has been verified.

Only what the inbox needs (an id, a type) is required; everything else is kept as sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

EventName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class StripeEventEnvelope(BaseModel):
    """A Stripe Event object (``"object": "event"``), as POSTed to a webhook endpoint."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: EventName
    type: EventName
    data: dict[str, Any]


class RazorpayEventEnvelope(BaseModel):
    """A Razorpay webhook body; its event id travels in ``X-Razorpay-Event-Id``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    event: EventName
    payload: dict[str, Any]
