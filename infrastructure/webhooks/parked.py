"""The operators' side of the webhook inbox: list rows, replay one, dismiss one (adr/0025).

A replay leases the row as the sweeper's claim does (``attempts`` + 1 is the fencing
token, ``lease_until`` keeps the sweeper off it) and hands it to the same applier the API
and the sweeper use, so it records its outcome exactly as they do. A dismissal settles the
row as ``dismissed`` without applying it. Both lock the row first and refuse one that is
leased: whoever holds the lease may be applying it at this moment, and a dismissal
landing under it would record "never applied" next to the effects it had.

Each act is recorded on the row with its actor, reason, time and Idempotency-Key; a
request that repeats the key of the last act answers with the row as it stands, doing
nothing again.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine, RowMapping

from application.errors import IdempotencyConflict
from application.parked_webhooks import (
    Decision,
    Handled,
    ListedStatus,
    ParkedWebhook,
    WebhookAlreadyApplied,
    WebhookBeingApplied,
    WebhookDismissed,
    WebhookNotFound,
)
from domain import bounds
from infrastructure.leased_queue import from_now
from infrastructure.webhooks.applier import WebhookApplier
from infrastructure.webhooks.inbox import SETTLED, InboxEntry, InboxStatus
from infrastructure.webhooks.metrics import WEBHOOKS_OPERATED
from projections.queries import InvalidCursor
from projections.schema import webhook_inbox

log = structlog.get_logger(__name__)

_c = webhook_inbox.c
LISTED = {
    ListedStatus.PENDING: InboxStatus.RECEIVED,
    ListedStatus.FAILED: InboxStatus.FAILED,
    ListedStatus.DISMISSED: InboxStatus.DISMISSED,
}
_CURSOR_TAG = "webhook"
# Whether someone holds the row's lease, by the database's clock (as every lease is).
_LEASED = sa.func.coalesce(_c.lease_until > sa.func.now(), sa.false()).label("leased")


def encode_cursor(webhook_id: int) -> str:
    raw = json.dumps([_CURSOR_TAG, webhook_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor from ``encode_cursor`` names; InvalidCursor for anything else
    (an orders cursor included)."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidCursor() from None
    if not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] != _CURSOR_TAG:
        raise InvalidCursor()
    webhook_id = decoded[1]
    if type(webhook_id) is not int or not 0 < webhook_id < 2**63:
        raise InvalidCursor()
    return webhook_id


def _decision(by: str | None, reason: str | None, at: datetime | None) -> Decision | None:
    return None if by is None or at is None else Decision(by, reason, at)


def parked_webhook(row: RowMapping) -> ParkedWebhook:
    return ParkedWebhook(
        id=row["id"],
        provider=row["provider"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        error=row["last_error"],
        outcome=row["outcome"],
        received_at=row["received_at"],
        next_attempt_at=row["next_attempt_at"],
        # Providers send UTF-8 JSON; a verified body that is not UTF-8 shows U+FFFD.
        body=bytes(row["body"]).decode("utf-8", errors="replace"),
        dismissed=_decision(row["dismissed_by"], row["dismissed_reason"], row["dismissed_at"]),
        replayed=_decision(row["replayed_by"], row["replayed_reason"], row["replayed_at"]),
    )


def _reason(reason: str | None) -> str | None:
    return None if reason is None else bounds.text(reason, "reason", bounds.MAX_REASON)


class InboxOperations:
    """``application.parked_webhooks.ParkedWebhooks`` on the inbox table."""

    def __init__(self, db: Engine, applier: WebhookApplier, lease_seconds: float) -> None:
        self.db = db
        self.applier = applier
        self.lease_seconds = lease_seconds

    def list(
        self, status: ListedStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[ParkedWebhook], str | None]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = sa.select(webhook_inbox).order_by(_c.id.desc())
        if status is not None:
            query = query.where(_c.status == LISTED[status].value)
        if cursor is not None:
            query = query.where(_c.id < decode_cursor(cursor))
        with self.db.connect() as conn:
            rows = list(conn.execute(query.limit(limit + 1)).mappings())
        page = [parked_webhook(row) for row in rows[:limit]]
        more = len(rows) > limit
        return page, encode_cursor(page[-1].id) if more else None

    def get(self, webhook_id: int) -> ParkedWebhook:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(webhook_inbox).where(_c.id == webhook_id)).mappings()
            found = row.first()
        if found is None:
            raise WebhookNotFound(webhook_id)
        return parked_webhook(found)

    def replay(self, webhook_id: int, actor: str, reason: str | None, key: str | None) -> Handled:
        bounds.actor(actor)
        claimed = self._claim(webhook_id, actor, _reason(reason), key)
        if isinstance(claimed, Handled):
            return claimed
        status = self.applier.apply(claimed)
        WEBHOOKS_OPERATED.labels(claimed.provider, "replay").inc()
        log.warning(
            "webhook replayed by an operator",
            id=webhook_id,
            provider=claimed.provider,
            event_id=claimed.event_id,
            by=actor,
            reason=reason,
            status=status.value,
        )
        return Handled(self.get(webhook_id))

    def dismiss(self, webhook_id: int, actor: str, reason: str, key: str | None) -> Handled:
        bounds.actor(actor)
        checked = bounds.text(reason, "reason", bounds.MAX_REASON)
        with self.db.begin() as conn:
            row = self._locked(conn, webhook_id)
            if row["status"] == InboxStatus.DISMISSED.value and _same_key(row["dismiss_key"], key):
                if row["dismissed_reason"] != checked:
                    raise IdempotencyConflict(str(key))
                return Handled(parked_webhook(row), repeated=True)
            self._refuse_closed_or_leased(row)
            dismissed = self._update(
                conn,
                webhook_id,
                status=InboxStatus.DISMISSED.value,
                next_attempt_at=None,
                dismissed_by=actor,
                dismissed_reason=checked,
                dismissed_at=sa.func.now(),
                dismiss_key=key,
            )
        WEBHOOKS_OPERATED.labels(dismissed["provider"], "dismiss").inc()
        log.warning(
            "webhook dismissed by an operator: it is never applied",
            id=webhook_id,
            provider=dismissed["provider"],
            event_id=dismissed["event_id"],
            by=actor,
            reason=checked,
        )
        return Handled(parked_webhook(dismissed))

    def _claim(
        self, webhook_id: int, actor: str, reason: str | None, key: str | None
    ) -> InboxEntry | Handled:
        """Lease the row for this replay, or the answer of the replay that used ``key``."""
        with self.db.begin() as conn:
            row = self._locked(conn, webhook_id)
            if _same_key(row["replay_key"], key):
                if row["replayed_reason"] != reason:
                    raise IdempotencyConflict(str(key))
                if row["leased"]:  # that replay is still applying it
                    raise WebhookBeingApplied(webhook_id)
                return Handled(parked_webhook(row), repeated=True)
            self._refuse_closed_or_leased(row)
            leased = self._update(
                conn,
                webhook_id,
                attempts=_c.attempts + 1,
                lease_until=from_now(self.lease_seconds),
                replayed_by=actor,
                replayed_reason=reason,
                replayed_at=sa.func.now(),
                replay_key=key,
            )
        return InboxEntry.from_row(leased)

    @staticmethod
    def _locked(conn: Connection, webhook_id: int) -> RowMapping:
        """The row, locked until the caller's transaction ends, with whether it is leased."""
        query = sa.select(webhook_inbox, _LEASED).where(_c.id == webhook_id).with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise WebhookNotFound(webhook_id)
        return row

    @staticmethod
    def _refuse_closed_or_leased(row: RowMapping) -> None:
        status = InboxStatus(row["status"])
        if status in SETTLED:
            raise WebhookAlreadyApplied(row["id"], status.value)
        if status is InboxStatus.DISMISSED:
            raise WebhookDismissed(row["id"], row["dismissed_by"])
        if row["leased"]:
            raise WebhookBeingApplied(row["id"])

    @staticmethod
    def _update(conn: Connection, webhook_id: int, **values: object) -> RowMapping:
        statement = (
            sa.update(webhook_inbox)
            .where(_c.id == webhook_id)
            .values(**values)
            .returning(*webhook_inbox.c)
        )
        return conn.execute(statement).mappings().one()


def _same_key(recorded: str | None, key: str | None) -> bool:
    """Whether a request repeats the one recorded: only ever with a key (None: the CLI)."""
    return key is not None and recorded == key
