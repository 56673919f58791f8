"""The sandbox's hosted pages show amounts the way the providers write them."""

from __future__ import annotations

import pytest

from sandbox.pages import _money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1250, "usd", "12.50 USD"),
        (1500, "jpy", "1,500 JPY"),
        (12345, "kwd", "12.345 KWD"),
        (99_999_999, "inr", "999,999.99 INR"),
    ],
)
def test_amounts_use_the_currency_decimals(amount: int, currency: str, shown: str) -> None:
    assert _money(amount, currency) == shown
