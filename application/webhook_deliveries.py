"""A provider's webhook delivery, as the API hands it on: raw bytes and headers, untouched.

The reception behind the ``DeliveryReception`` port (application.ports; implemented by
infrastructure.webhooks.reception) verifies the signature over exactly these bytes, records
the event in the inbox and applies it at once (adr/0008). A delivery it refuses records
nothing and raises ``InvalidSignature``, whose ``reason`` says why; the envelopes are the
outer shape of each provider's event, read only once the signature has been verified.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

STRIPE_SIGNATURE = "Stripe-Signature"
RAZORPAY_SIGNATURE = "X-Razorpay-Signature"
RAZORPAY_EVENT_ID = "X-Razorpay-Event-Id"


class RejectReason(StrEnum):
    MISSING = "missing"  # no signature header at all
    INVALID = "invalid"  # not signed with our secret (forged, tampered, wrong secret)
    STALE = "stale"  # signed correctly, but too long ago: a replay
    MALFORMED = "malformed"  # signed, but not an event we can read
    NOT_CONFIGURED = "not_configured"  # no webhook secret here: nothing can be verified


class InvalidSignature(Exception):
    """The request does not prove it comes from the provider; ``reason`` is a metric label."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


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
