"""At the head, the shared follower's reads begin a gather apart, counted from the last
read: a page that took longer to commit than the gather is followed by a read at once."""

from __future__ import annotations

import pytest

from projections.runner import gather_left


def test_a_quick_page_waits_out_the_rest_of_the_gather() -> None:
    assert gather_left(read_at=10.000, gather=0.020, now=10.005) == pytest.approx(0.015)


def test_a_page_slower_than_the_gather_is_followed_by_a_read_at_once() -> None:
    assert gather_left(read_at=10.000, gather=0.020, now=10.030) == 0.0


def test_no_gather_never_waits() -> None:
    assert gather_left(read_at=10.000, gather=0.0, now=10.000) == 0.0
