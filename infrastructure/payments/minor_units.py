"""How each provider writes an amount, where that differs from ISO 4217 minor units.

The engine keeps ISO 4217 minor units (domain.money). Providers mostly agree, except:

- Stripe keeps ISK as a two-decimal currency (ISO: zero) whose amounts must be whole
  krónur, so ISK 5 is ``500``; and MGA as zero-decimal (ISO: two), so MGA 5 is ``5``.
- Stripe and Razorpay want three-decimal currencies (KWD, BHD, ...) with a last digit of 0.
- HUF and TWD are two-decimal for Stripe charges as in ISO (only payouts are whole units);
  UGX is zero-decimal in both. No conversion for them.

An amount a provider cannot express exactly is refused (PermanentProviderError), never
rounded: rounding would charge or refund the customer a different sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from application.ports import PermanentProviderError
from domain import Currency


@dataclass(frozen=True)
class MinorUnits:
    provider: str
    exponents: Mapping[str, int] = field(default_factory=dict)  # where not ISO 4217's
    tens_only: frozenset[str] = frozenset()  # last digit must be 0

    def exponent(self, currency: str) -> int:
        code = Currency.of(currency)
        return self.exponents.get(code.code, code.exponent)

    def to_provider(self, amount: int, currency: str) -> int:
        """ISO minor units -> the provider's units, exactly, or PermanentProviderError."""
        code = Currency.of(currency)
        shift = self.exponent(code.code) - code.exponent
        if shift >= 0:
            converted = amount * _ten_to(shift)
        else:
            converted, remainder = divmod(amount, _ten_to(-shift))
            if remainder:
                raise self._unrepresentable(amount, code)
        if code.code in self.tens_only and converted % 10:
            raise self._unrepresentable(amount, code)
        return converted

    def from_provider(self, amount: int, currency: str) -> int:
        """The provider's units -> ISO minor units (for amounts the provider reports)."""
        code = Currency.of(currency)
        shift = self.exponent(code.code) - code.exponent
        if shift <= 0:
            return amount * _ten_to(-shift)
        converted, remainder = divmod(amount, _ten_to(shift))
        if remainder:
            raise ValueError(f"{amount} {code.code} from {self.provider} is not whole minor units")
        return converted

    def _unrepresentable(self, amount: int, code: Currency) -> PermanentProviderError:
        return PermanentProviderError(
            f"{self.provider} cannot charge {amount} minor units of {code.code} exactly"
        )


def _ten_to(power: int) -> int:
    factor: int = 10**power
    return factor


THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})

STRIPE_UNITS = MinorUnits("stripe", {"ISK": 2, "MGA": 0}, THREE_DECIMAL)
RAZORPAY_UNITS = MinorUnits("razorpay", {}, THREE_DECIMAL)
