from __future__ import annotations

import pytest

from domain import ISO_4217_EXPONENTS, Currency, Money, UnknownCurrency

USD = Currency.of("USD")


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("INR", 2),
        ("CHF", 2),
        ("CAD", 2),
        ("AUD", 2),
        ("SGD", 2),
        ("AED", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("VND", 0),
        ("ISK", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("CLF", 4),
    ],
)
def test_iso_4217_exponents(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent


def test_codes_are_normalised_to_upper_case() -> None:
    assert Currency.of("usd") == USD
    assert Currency.of(" jpy ").code == "JPY"
    assert Currency.of(USD) is USD


@pytest.mark.parametrize("code", ["XYZ", "", "US", "dollar", "U$D"])
def test_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="unknown ISO 4217"):
        Currency.of(code)


def test_non_string_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        Currency.of(840)  # type: ignore[arg-type]


def test_hand_made_currency_with_wrong_exponent_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        Currency("JPY", 2)


def test_table_codes_are_three_upper_case_letters() -> None:
    assert all(len(c) == 3 and c.isalpha() and c.isupper() for c in ISO_4217_EXPONENTS)


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money.of(100, "USD") != Money.of(100, "EUR")


@pytest.mark.parametrize("amount", [1.5, 1.0, True, "100", None])
def test_non_int_amounts_are_refused(amount: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        Money(amount, USD)  # type: ignore[arg-type]


def test_currency_must_be_a_currency() -> None:
    with pytest.raises(TypeError):
        Money(100, "USD")  # type: ignore[arg-type]


def test_money_is_immutable() -> None:
    money = Money.of(100, "USD")
    with pytest.raises(AttributeError):
        money.amount = 5  # type: ignore[misc]
