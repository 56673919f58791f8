"""Webhooks the engine could not apply, for operators: list them, replay one, dismiss one.

The inbox keeps every verified provider event (adr/0008); these routes are the person's
side of it (adr/0025). A replay applies the row at once, through the reception's own
applier, and answers how it went; a dismissal settles it for good, unapplied, naming the
admin and their reason. Both take a required Idempotency-Key, so a retried request
answers what the first did instead of a 409.
"""

from __future__ import annotations

import re

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, AUDITOR, authenticate, require_role
from api.operations import COMMAND_KEY_HEADER, REPLAYED_HEADER, Access, Operation
from api.problems import not_found
from api.rate_limits import authenticate_read
from api.representations import json_response, webhook_out
from api.schemas import (
    IDEMPOTENCY_KEY,
    WebhookDismissBody,
    WebhookOut,
    WebhookPage,
    WebhookReplayBody,
    WebhooksQuery,
)
from api.services import services_of
from api.validation import (
    invalid_request,
    parse_body,
    validate_header,
    validate_query,
)
from application.parked_webhooks import Handled, ListedStatus
from domain import actors
from projections.queries import InvalidCursor

log = structlog.get_logger(__name__)

_WEBHOOK_ID = re.compile(r"[1-9][0-9]{0,18}")
_MAX_WEBHOOK_ID = 2**63 - 1  # the inbox's bigint ids


def webhook_id(request: Request) -> int:
    """The path's row id; 404 for anything that cannot be one (routed as text)."""
    raw: str = request.path_params["webhookId"]
    if not _WEBHOOK_ID.fullmatch(raw) or int(raw) > _MAX_WEBHOOK_ID:
        raise not_found("No webhook with this id in the inbox.")
    return int(raw)


def command_key(request: Request) -> str:
    """An operator's command goes with an Idempotency-Key (400 when missing)."""
    name = COMMAND_KEY_HEADER.name
    value = request.headers.get(name)
    if value is None:
        raise invalid_request(
            f"Send an {name} header: a retried request then answers what the first did.",
            [{"field": name, "message": "is required"}],
        )
    return validate_header(IDEMPOTENCY_KEY, name, value)


def _answer(handled: Handled) -> Response:
    headers = {REPLAYED_HEADER.name: "true"} if handled.repeated else {}
    return json_response(webhook_out(handled.webhook), headers=headers)


async def list_webhooks(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    query = validate_query(WebhooksQuery, request.query_params)
    status = None if query.status is None else ListedStatus(query.status)
    parked = services_of(request).parked_webhooks
    try:
        items, next_cursor = await run_in_threadpool(parked.list, status, query.limit, query.cursor)
    except InvalidCursor as exc:
        raise invalid_request(str(exc), [{"field": "cursor", "message": str(exc)}]) from None
    page = WebhookPage(items=[webhook_out(item) for item in items], next_cursor=next_cursor)
    return json_response(page)


async def replay_webhook(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    key = command_key(request)
    body = await parse_body(request, WebhookReplayBody)
    target = webhook_id(request)
    actor = actors.admin(principal.subject)
    parked = services_of(request).parked_webhooks
    handled = await run_in_threadpool(parked.replay, target, actor, body.reason, key)
    log.info("webhook replay answered", id=target, by=actor, repeated=handled.repeated)
    return _answer(handled)


async def dismiss_webhook(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    key = command_key(request)
    body = await parse_body(request, WebhookDismissBody)
    target = webhook_id(request)
    actor = actors.admin(principal.subject)
    parked = services_of(request).parked_webhooks
    handled = await run_in_threadpool(parked.dismiss, target, actor, body.reason, key)
    log.info("webhook dismissal answered", id=target, by=actor, repeated=handled.repeated)
    return _answer(handled)


_COMMAND_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 503)

OPERATIONS = [
    Operation(
        "GET",
        "/admin/webhooks",
        list_webhooks,
        operation_id="listWebhooks",
        summary="Webhook inbox rows, newest first, optionally by status; follow nextCursor.",
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        description=(
            "Each verified provider event the engine stored, with its raw body, tries, last "
            "error and what operators did to it. Reads the inbox itself: always current. A "
            "malformed or foreign `cursor` is 400."
        ),
        query=WebhooksQuery,
        response=WebhookPage,
        problems=(400, 401, 403, 429, 503),
        tags=("admin",),
    ),
    Operation(
        "POST",
        "/admin/webhooks/{webhookId}/replay",
        replay_webhook,
        operation_id="replayWebhook",
        summary="Apply a failed or pending webhook again now; answers the row as it ends.",
        access=Access.ADMIN,
        description=(
            "Through the same applier as a delivery: the row ends `processed`, `ignored` "
            "or `failed` again (with its error). 409 for a row already applied or "
            "dismissed, or being applied right now (Retry-After)."
        ),
        request=WebhookReplayBody,
        response=WebhookOut,
        problems=_COMMAND_PROBLEMS,
        request_headers=(COMMAND_KEY_HEADER,),
        response_headers=(REPLAYED_HEADER,),
        tags=("admin",),
    ),
    Operation(
        "POST",
        "/admin/webhooks/{webhookId}/dismiss",
        dismiss_webhook,
        operation_id="dismissWebhook",
        summary="Never apply this webhook: it becomes `dismissed`, naming who and why.",
        access=Access.ADMIN,
        description=(
            "The sweeper never tries it again. 409 for a row already applied or dismissed "
            "(unless the same Idempotency-Key and reason: the first answer again), or being "
            "applied right now (Retry-After)."
        ),
        request=WebhookDismissBody,
        response=WebhookOut,
        problems=_COMMAND_PROBLEMS,
        request_headers=(COMMAND_KEY_HEADER,),
        response_headers=(REPLAYED_HEADER,),
        tags=("admin",),
    ),
]
