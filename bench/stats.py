"""Percentiles and summaries of latency samples. Pure: no clock, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    The same definition as numpy's default ("linear"): for n sorted samples the rank is
    (n - 1) * q / 100, interpolated between its floor and ceiling neighbours.
    """
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    fraction = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def summarise_ms(seconds: Iterable[float]) -> dict[str, Any] | None:
    """p50/p90/p99/max/mean in milliseconds (rounded to µs) of samples given in seconds;
    None when there are none."""
    values = [s * 1000.0 for s in seconds]
    if not values:
        return None
    return {
        "p50": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(max(values), 3),
        "mean": round(sum(values) / len(values), 3),
        "samples": len(values),
    }


def rate(count: int, seconds: float) -> float:
    """Events per second, rounded to 0.1; 0 when no time passed."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def cpu_share(cpu_seconds: float, wall_seconds: float, cores: int) -> dict[str, float]:
    """CPU used by a process over a window: as a fraction of the machine and of one core."""
    if wall_seconds <= 0 or cores <= 0:
        return {"of_machine": 0.0, "of_one_core": 0.0, "cpu_seconds": round(cpu_seconds, 3)}
    return {
        "of_machine": round(cpu_seconds / (wall_seconds * cores), 4),
        "of_one_core": round(cpu_seconds / wall_seconds, 4),
        "cpu_seconds": round(cpu_seconds, 3),
    }
