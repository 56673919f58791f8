"""Provider sandbox: Stripe and Razorpay test-mode APIs, hosted pages and signed webhooks.

Point the SDKs at it: ``stripe.StripeClient(key, base_addresses={"api": f"{url}/stripe"})`` and
``razorpay.Client(auth=(key_id, secret), base_url=f"{url}/razorpay")``.
"""

from __future__ import annotations

from .app import create_sandbox_app
from .config import SandboxConfig

__all__ = ["SandboxConfig", "create_sandbox_app"]
