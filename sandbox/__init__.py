"""Provider sandbox: Stripe and Razorpay test-mode APIs, hosted pages and signed webhooks.

Point the SDKs at it: ``stripe.StripeClient(key, base_addresses={"api": f"{url}/stripe"})`` and
``razorpay.Client(auth=(key_id, secret), base_url=f"{url}/razorpay")``.

It is no kinder than the providers: whatever a customer, their bank or time controls there, a
test controls here, so that tests can attack the engine.

- Stripe (``/stripe/v1``): PaymentIntents, charges, refunds, Checkout Sessions (create,
  retrieve, list, line items, expire), disputes (retrieve, list, close) and events. Sessions
  expire by the sandbox clock; each pays through its own PaymentIntent.
- Razorpay (``/razorpay/v1``): orders, payments, refunds and disputes (fetch, list, accept).
- The customer's browser: Stripe's hosted page ``/stripe/pay/{session}``, Razorpay's checkout
  page ``/razorpay/checkout/{order}``, and checkout.js's stand-ins
  ``POST /razorpay/v1/sandbox/orders/{order}/pay`` (its own ``notes``, a tampered ``amount`` or
  ``currency``, ``allowDuplicate``) and ``POST /razorpay/v1/sandbox/payments/pay`` (no order).
- ``/_sandbox`` (see ``controls``): webhooks held, reordered, duplicated or resent; faults;
  the clock; a session's time running out; disputes opened and decided by the bank.
"""

from __future__ import annotations

from .app import create_sandbox_app
from .config import SandboxConfig

__all__ = ["SandboxConfig", "create_sandbox_app"]
