"""What a follower's failure means: retry the page, stop at the event, or stand by again."""

from __future__ import annotations

from uuid import UUID

import psycopg
import sqlalchemy as sa
from eventsourcing import persistence as es_errors

from projections.tracking import PositionMoved

# Failures that a retry from the stored position can cure: the tables were swapped by a
# rebuild, a connection dropped, a serialisation or lock timeout.
RETRYABLE = (PositionMoved, sa.exc.DBAPIError)
# Failures no retry cures: the event holds a value the tables refuse. They, and anything
# the projection's own code raises, stop the follower at that event (dead letter).
REFUSED = (sa.exc.DataError, sa.exc.IntegrityError)
# The database or our session went away; the lock, if we held it, went with the session.
CONNECTION_LOST = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_errors.OperationalError,
    es_errors.InterfaceError,
)


def as_uuid(value: object) -> UUID | None:
    """An event's aggregate id as a UUID, if it is one (dead letters keep it)."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def is_refused(exc: Exception) -> bool:
    """An event no retry will apply: refused by the tables, or by the projection's code."""
    if isinstance(exc, REFUSED):
        return True
    return not isinstance(exc, (*RETRYABLE, *CONNECTION_LOST))
