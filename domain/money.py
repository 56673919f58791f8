"""Money as integer minor units of an ISO 4217 currency.

Floats never enter: binary fractions cannot represent most decimal prices, and a rounding
error on a money path is a real loss. Amounts are ``int`` minor units (cents, paise, yen, fils).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.errors import CurrencyMismatch, UnknownCurrency

# ISO 4217 minor-unit exponents (list one, active codes). Stored per code rather than
# assumed to be 2 because JPY/KRW have none and BHD/KWD/JOD/OMR/TND have three: getting
# this wrong charges 100x or 1/10th of the price.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD XCG YER ZAR ZMW "
    "ZWG"
)
ISO_4217_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}

# The largest amount a view (PostgreSQL bigint) can store.
MAX_MINOR_UNITS = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency; build with :meth:`of`, which validates and normalises."""

    code: str
    exponent: int

    def __post_init__(self) -> None:
        # Refuse hand-made currencies so an invented code or exponent cannot slip in.
        if ISO_4217_EXPONENTS.get(self.code) != self.exponent:
            raise UnknownCurrency(self.code)

    @classmethod
    def of(cls, code: str | Currency) -> Currency:
        if isinstance(code, Currency):
            return code
        if not isinstance(code, str):
            raise UnknownCurrency(code)
        normalised = code.strip().upper()
        exponent = ISO_4217_EXPONENTS.get(normalised)
        if exponent is None:
            raise UnknownCurrency(code)
        return cls(normalised, exponent)

    def __str__(self) -> str:
        return self.code


def _require_int(value: Any, what: str) -> int:
    # bool is an int subclass and float is the very thing we refuse: check the exact type.
    if type(value) is not int:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency. May be negative (differences)."""

    amount: int
    currency: Currency

    def __post_init__(self) -> None:
        _require_int(self.amount, "Money.amount (minor units)")
        if not isinstance(self.currency, Currency):
            raise TypeError(f"Money.currency must be a Currency, got {self.currency!r}")

    @classmethod
    def of(cls, amount: int, currency: str | Currency) -> Money:
        return cls(amount, Currency.of(currency))

    @classmethod
    def zero(cls, currency: str | Currency) -> Money:
        return cls(0, Currency.of(currency))

    @classmethod
    def sum(cls, amounts: Iterable[Money], currency: str | Currency) -> Money:
        """Sum in ``currency``; the currency is explicit so an empty sum is well defined."""
        total = cls.zero(currency)
        for amount in amounts:
            total = total + amount
        return total

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency.code, other.currency.code)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * _require_int(factor, "multiplier"), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        # Integer formatting only: "USD 12.34", "JPY 500", "KWD -1.250".
        exponent = self.currency.exponent
        sign = "-" if self.amount < 0 else ""
        if exponent == 0:
            return f"{self.currency.code} {sign}{abs(self.amount)}"
        major, minor = divmod(abs(self.amount), 10**exponent)
        return f"{self.currency.code} {sign}{major}.{minor:0{exponent}d}"
