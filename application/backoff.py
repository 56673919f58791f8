"""How long to wait before trying again: capped exponential backoff with jitter.

One policy for every retry loop that waits between tries: provider calls (the executor),
inbox rows (the webhook applier), relay passes and projection runners that keep failing.
(Optimistic-concurrency conflicts are retried by tenacity in ``application.contention``,
whose full jitter suits many losers of one race.) The jitter spreads out the retries of many
rows or processes that failed at the same moment, so they do not all come back at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Past this many doublings every delay is the cap anyway; the bound keeps 2.0**n a float
# for a task retried for days.
_MAX_DOUBLINGS = 1000


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait after ``attempts`` tries: initial * 2^(attempts-1) + jitter, capped.

    The jitter is uniform between 0 and ``initial``; ``maximum`` caps the sum.
    """

    initial: float = 1.0
    maximum: float = 300.0

    def delay(self, attempts: int) -> float:
        doublings = min(max(attempts, 1) - 1, _MAX_DOUBLINGS)
        return min(self.maximum, self.initial * 2.0**doublings + random.uniform(0, self.initial))
