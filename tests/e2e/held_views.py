"""Holding projections back, so a test can see what a read does while the views lag."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from projections.schema import projection_tracking
from projections.tracking import ensure_tracking_row
from tests.e2e.conftest import RunningApi


@contextmanager
def views_held(api: RunningApi, *names: str) -> Iterator[None]:
    """While open, projections ``names`` commit nothing: their tracking rows are locked.

    A runner's batch ends by advancing its tracking row, so it waits on the lock and
    commits (rows and position together) only once the block is left.
    """
    with api.container.db.begin() as conn:
        for name in names:
            ensure_tracking_row(conn, name)
    t = projection_tracking
    with api.container.db.connect() as conn, conn.begin():
        conn.execute(sa.select(t.c.name).where(t.c.name.in_(names)).with_for_update()).all()
        yield
