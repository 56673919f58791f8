"""Money as integer minor units of an ISO 4217 currency.

Floats never enter: binary fractions cannot represent most decimal prices, and a rounding
error on a money path is a real loss. Amounts are ``int`` minor units (cents, paise, yen, fils).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import UnknownCurrency

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
    """An amount in minor units of one currency, as an aggregate states its price or total.

    No arithmetic: the engine sums and compares plain ints of one currency, which the
    aggregates guard (one currency per cart, refunds within the capture).
    """

    amount: int
    currency: Currency

    def __post_init__(self) -> None:
        _require_int(self.amount, "Money.amount (minor units)")
        if not isinstance(self.currency, Currency):
            raise TypeError(f"Money.currency must be a Currency, got {self.currency!r}")

    @classmethod
    def of(cls, amount: int, currency: str | Currency) -> Money:
        return cls(amount, Currency.of(currency))
