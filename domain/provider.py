"""The payment providers the engine can charge through."""

from __future__ import annotations

from enum import StrEnum

from domain.errors import UnknownProvider


class Provider(StrEnum):
    STRIPE = "stripe"
    RAZORPAY = "razorpay"

    @classmethod
    def of(cls, name: str) -> Provider:
        """Parse a provider name, raising the domain's :class:`UnknownProvider`."""
        try:
            return cls(name)
        except ValueError:
            raise UnknownProvider(name) from None
