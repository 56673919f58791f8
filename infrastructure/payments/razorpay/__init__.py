"""Razorpay adapter: orders and refunds (see client.py)."""
