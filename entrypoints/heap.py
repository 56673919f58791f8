"""The garbage collector of a long-running role, settled once it has started.

A role allocates and frees objects by the thousand per request or page, almost all freed
by their reference counts; Python's collector still runs a collection of its youngest
generation every 700 allocations, and now and then one of the whole heap, traversing
every object the imports and the container made too. ``settle`` collects once, freezes
what exists (the modules, the container: never garbage) so that no later collection
traverses it, and raises the youngest generation's threshold.

Measured with the rebuild, which is the same kind of work at full speed: the default
thresholds took a third of its time (projections/rebuild.py).
"""

from __future__ import annotations

import gc

# Allocations between two collections of the youngest generation (Python's default: 700).
YOUNG_THRESHOLD = 10_000


def settle(young_threshold: int = YOUNG_THRESHOLD) -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
