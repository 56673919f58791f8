"""A role settles its heap once started: the objects it started with are frozen, and the
youngest generation is collected less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from entrypoints import heap


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_settling_freezes_what_exists_and_raises_the_young_threshold() -> None:
    gc.unfreeze()
    _, middle, old = gc.get_threshold()
    survivor = [object() for _ in range(100)]

    heap.settle()

    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, middle, old)
    assert gc.get_freeze_count() >= len(survivor)
    assert heap.YOUNG_THRESHOLD > 700  # Python's default


@pytest.mark.usefixtures("restored")
def test_cycles_made_after_settling_are_still_collected() -> None:
    heap.settle()

    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    marker = id(node)
    del node
    gc.collect()
    assert all(id(o) != marker for o in gc.get_objects() if isinstance(o, Node))
