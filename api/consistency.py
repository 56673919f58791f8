"""Read-your-writes across the command side and the projections.

Every write answers with `X-Log-Position`, the notification id of its last event. A read
that sends it back (header, or `?minPosition=`) waits, bounded, until the views it reads
have processed that position, so a client never sees its own new order as a 404. If the
views do not catch up in time the answer is 503 + Retry-After, never stale data.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.operations import LOG_POSITION_HEADER
from api.problems import Problem
from api.schemas import LOG_POSITION
from api.validation import validate_header
from projections.runner import wait_for_position

MAX_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1


def position_headers(position: int) -> dict[str, str]:
    return {LOG_POSITION_HEADER.name: str(position)}


def requested_position(request: Request, min_position: int | None) -> int | None:
    """The highest position the client asked for, by header or query parameter."""
    positions = [] if min_position is None else [min_position]
    name = LOG_POSITION_HEADER.name
    header = request.headers.get(name)
    if header is not None:
        positions.append(validate_header(LOG_POSITION, name, header.strip()))
    return max(positions, default=None)


async def await_views(request: Request, views: Collection[str], min_position: int | None) -> None:
    position = requested_position(request, min_position)
    if not position:
        return
    engine = request.app.state.container.sql
    caught_up = await run_in_threadpool(
        wait_for_position, engine, list(views), position, MAX_WAIT_SECONDS
    )
    if not caught_up:
        raise Problem(
            503,
            "Views Behind",
            f"The read models have not reached log position {position} yet; retry shortly.",
            kind="views-behind",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
