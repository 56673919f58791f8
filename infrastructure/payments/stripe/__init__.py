"""Stripe adapter: PaymentIntents, refunds and Checkout Sessions (see client.py)."""
