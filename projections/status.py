"""Where each projection stands against the head of the log (`projections status`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections import ALL_PROJECTIONS
from projections.projection import Projection
from projections.tracking import position


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


def status(
    app: CheckoutApplication, db: Engine, projections: Sequence[Projection] = ALL_PROJECTIONS
) -> list[ProjectionStatus]:
    """Where each projection stands against the head of the log."""
    head = app.head_position()
    report = []
    for projection in projections:
        at = position(db, projection.name)
        report.append(
            ProjectionStatus(
                name=projection.name,
                position=at,
                head=head,
                lag_events=max(0, head - at),
                lag_seconds=_lag_seconds(app, at),
            )
        )
    return report


def _lag_seconds(app: CheckoutApplication, at: int) -> float:
    """Age of the oldest event not processed yet (0 when caught up)."""
    oldest = app.recorder.select_notifications(start=at, limit=1, inclusive_of_start=False)
    if not oldest:
        return 0.0
    timestamp = getattr(app.mapper.to_domain_event(oldest[0]), "timestamp", None)
    if not isinstance(timestamp, datetime):
        return 0.0
    return max(0.0, (datetime.now(UTC) - timestamp).total_seconds())
