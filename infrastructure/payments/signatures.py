"""Why a webhook request was refused before anything was recorded."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    MISSING = "missing"  # no signature header at all
    INVALID = "invalid"  # not signed with our secret (forged, tampered, wrong secret)
    STALE = "stale"  # signed correctly, but too long ago: a replay
    MALFORMED = "malformed"  # signed, but not an event we can read
    NOT_CONFIGURED = "not_configured"  # no webhook secret here: nothing can be verified


class InvalidSignature(Exception):
    """The request does not prove it comes from the provider; ``reason`` is a metric label."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
