"""Settings of one provider sandbox instance."""

from __future__ import annotations

from dataclasses import dataclass

# The API version stripe-python 16.x pins; events carry the version of their endpoint.
DEFAULT_STRIPE_API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class SandboxConfig:
    """Where the sandbox sends webhooks and how it names itself.

    ``public_base_url`` is the origin that hosted pages are reached at (for example
    ``http://127.0.0.1:12111``); when it is ``None`` each request's own origin is used.
    A webhook URL or secret left ``None`` means that provider's webhooks are not sent.
    A provider's ``*_webhook_events`` are the event types its endpoint is subscribed to;
    ``None`` subscribes it to every type.
    """

    public_base_url: str | None = None
    stripe_webhook_url: str | None = None
    stripe_webhook_secret: str | None = None
    razorpay_webhook_url: str | None = None
    razorpay_webhook_secret: str | None = None
    stripe_webhook_events: frozenset[str] | None = None
    razorpay_webhook_events: frozenset[str] | None = None
    stripe_api_version: str = DEFAULT_STRIPE_API_VERSION
    razorpay_account_id: str = "acc_SandboxAcct0001"
    webhook_max_attempts: int = 5
    webhook_retry_base_seconds: float = 0.25
    webhook_retry_max_seconds: float = 3600.0  # the doubling stops here
    webhook_timeout_seconds: float = 5.0
