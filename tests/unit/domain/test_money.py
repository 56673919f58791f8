from __future__ import annotations

import pytest

from domain import ISO_4217_EXPONENTS, Currency, CurrencyMismatch, Money, UnknownCurrency

USD = Currency.of("USD")
EUR = Currency.of("EUR")


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


def test_arithmetic() -> None:
    a = Money.of(1050, "USD")
    b = Money.of(250, "usd")
    assert a + b == Money(1300, USD)
    assert a - b == Money(800, USD)
    assert b - a == Money(-800, USD)
    assert a * 3 == Money(3150, USD)
    assert 3 * a == Money(3150, USD)
    assert -a == Money(-1050, USD)


def test_comparisons() -> None:
    small, big = Money.of(1, "EUR"), Money.of(2, "EUR")
    assert small < big
    assert small <= small
    assert big > small
    assert big >= big
    assert max(small, big) == big


def test_zero_and_sum() -> None:
    assert Money.zero("GBP") == Money.of(0, "GBP")
    assert Money.sum([], "USD") == Money.zero("USD")
    assert Money.sum([Money.of(1, "USD"), Money.of(2, "USD")], USD) == Money.of(3, "USD")


def test_mixing_currencies_is_refused() -> None:
    usd, eur = Money.of(100, "USD"), Money.of(100, "EUR")
    with pytest.raises(CurrencyMismatch, match="USD and EUR"):
        _ = usd + eur
    with pytest.raises(CurrencyMismatch):
        _ = usd - eur
    with pytest.raises(CurrencyMismatch):
        _ = usd < eur
    with pytest.raises(CurrencyMismatch):
        Money.sum([usd, eur], "USD")


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money.of(100, "USD") != Money.of(100, "EUR")


@pytest.mark.parametrize("amount", [1.5, 1.0, True, "100", None])
def test_non_int_amounts_are_refused(amount: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        Money(amount, USD)  # type: ignore[arg-type]


@pytest.mark.parametrize("factor", [1.5, True])
def test_non_int_multipliers_are_refused(factor: object) -> None:
    with pytest.raises(TypeError):
        _ = Money.of(100, "USD") * factor  # type: ignore[operator]


def test_currency_must_be_a_currency() -> None:
    with pytest.raises(TypeError):
        Money(100, "USD")  # type: ignore[arg-type]


def test_adding_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Money.of(100, "USD") + 1  # type: ignore[operator]


def test_money_is_immutable() -> None:
    money = Money.of(100, "USD")
    with pytest.raises(AttributeError):
        money.amount = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money.of(1234, "USD"), "USD 12.34"),
        (Money.of(5, "USD"), "USD 0.05"),
        (Money.of(-1250, "KWD"), "KWD -1.250"),
        (Money.of(500, "JPY"), "JPY 500"),
    ],
)
def test_str_uses_the_exponent(money: Money, text: str) -> None:
    assert str(money) == text
