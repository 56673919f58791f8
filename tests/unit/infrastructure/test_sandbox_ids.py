"""The sandbox's ids: the providers' shapes, every character of the alphabet as likely."""

from __future__ import annotations

import string
from collections import Counter

import pytest

from sandbox.ids import random_token, razorpay_id, stripe_id

ALPHABET = set(string.ascii_letters + string.digits)


@pytest.mark.parametrize("length", [0, 1, 6, 14, 23, 56, 200])
def test_a_token_is_as_long_as_asked_and_alphanumeric(length: int) -> None:
    token = random_token(length)
    assert len(token) == length
    assert set(token) <= ALPHABET


def test_ids_have_the_providers_shapes() -> None:
    assert stripe_id("pi").startswith("pi_3")
    assert len(stripe_id("pi")) == len("pi_") + 24
    assert len(razorpay_id("order")) == len("order_") + 14


def test_every_character_is_about_equally_likely() -> None:
    """62 does not divide 256: bytes mapped with a plain modulo would make the first 8
    characters a quarter likelier than the rest. 62,000 draws, about 1,000 each: a
    character 25% likelier is 8 standard deviations out; the bounds are 5."""
    counts = Counter("".join(random_token(62) for _ in range(1_000)))
    assert set(counts) == ALPHABET
    assert max(counts.values()) < 1_160
    assert min(counts.values()) > 840
