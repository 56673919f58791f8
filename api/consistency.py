"""Read-your-writes across the command side and the projections.

Every write answers with `X-Log-Position`, the notification id of its last event. Reads
are served from views that follow the log a few milliseconds behind, so:

- A read that sends a position back (header, or `?minPosition=`) waits, bounded, until
  the views it reads have processed it. A position beyond the log head was answered to
  no write: 400 at once, after one query, rather than a wait for what may never come.
- A single-order read (`fresh`) reflects every write answered before it began, with or
  without a position: it waits for the log head as it was when the request arrived.
  When the views are there already (the usual case) that costs one query.
- Anything else (lists, the catalog) reads the views as they are.

If the views do not catch up within MAX_WAIT_SECONDS the answer is 503 + Retry-After,
never stale data. Waiting sleeps in the event loop (tracking.PositionReader).
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.operations import LOG_POSITION_HEADER, REPLAYED_HEADER
from api.problems import Problem
from api.schemas import LOG_POSITION
from api.services import services_of
from api.validation import validate_header
from infrastructure.observability import READS_WAITING
from projections.tracking import PositionReader

MAX_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1
MIN_POSITION_PARAMETER = "minPosition"


def position_headers(position: int, replayed: bool = False) -> dict[str, str]:
    """A write's answer headers: its log position, and for a command answered again under
    the same Idempotency-Key, ``Idempotent-Replayed: true``."""
    headers = {LOG_POSITION_HEADER.name: str(position)}
    if replayed:
        headers[REPLAYED_HEADER.name] = "true"
    return headers


def requested_positions(request: Request, min_position: int | None) -> dict[str, int]:
    """The positions the client asked for, by where it sent them (query, header)."""
    positions = {} if min_position is None else {MIN_POSITION_PARAMETER: min_position}
    name = LOG_POSITION_HEADER.name
    header = request.headers.get(name)
    if header is not None:
        positions[name] = validate_header(LOG_POSITION, name, header.strip())
    return positions


async def _position_reader(request: Request) -> PositionReader:
    """Built on first use, in a thread: the first look at the application may connect."""
    state = request.app.state
    reader: PositionReader | None = getattr(state, "position_reader", None)
    if reader is None:
        services = services_of(request)
        reader = await run_in_threadpool(lambda: services.position_reader)
        state.position_reader = reader
    return reader


def _beyond_head(asked: dict[str, int], head: int) -> Problem:
    return Problem(
        400,
        "Position Beyond Log Head",
        f"The log ends at position {head}: no write was answered with a later one.",
        kind="position-beyond-head",
        errors=[
            {"field": field, "message": f"{position} is beyond the log head"}
            for field, position in asked.items()
            if position > head
        ],
    )


async def await_views(
    request: Request, views: Collection[str], min_position: int | None, *, fresh: bool = False
) -> None:
    """Return once ``views`` reflect what the read must see (module docstring), or raise."""
    asked = requested_positions(request, min_position)
    if not fresh and not any(asked.values()):
        return
    reader = await _position_reader(request)
    positions = await run_in_threadpool(reader.read, views)
    if any(position > positions.head for position in asked.values()):
        raise _beyond_head(asked, positions.head)
    target = max([*asked.values(), positions.head if fresh else 0])
    if positions.reached(views, target):
        return
    with READS_WAITING.track_inprogress():
        caught_up = await reader.wait(views, target, MAX_WAIT_SECONDS)
    if not caught_up:
        raise Problem(
            503,
            "Views Behind",
            f"The read models have not reached log position {target} yet; retry shortly.",
            kind="views-behind",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
