"""Each view has one name: its projection name (what `projections rebuild NAME` takes and
its tracking row, dead letters and metrics label store) names its module and its class."""

from __future__ import annotations

import pytest

from projections import ALL_PROJECTIONS, Projection


def test_the_stored_projection_names_stay() -> None:
    assert [p.name for p in ALL_PROJECTIONS] == ["orders", "payments", "catalog", "reviews"]


@pytest.mark.parametrize("view", ALL_PROJECTIONS, ids=lambda p: p.name)
def test_a_view_is_named_once(view: Projection) -> None:
    assert type(view).__module__ == f"projections.{view.name}"
    assert type(view).__name__ == f"{view.name.capitalize()}View"
