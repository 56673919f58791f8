"""Who changed something, and on what evidence (adr/0016).

Every event recorded since adr/0016 names its actor, one of:

- ``customer:<sub>``: a customer's own command (checkout, cancel, a hosted page);
- ``admin:<sub>``: an admin's command (refunds, catalog and stock changes), with a reason
  where the command takes one;
- ``cli:<login>``: the operator who ran ``checkout-engine catalog load``;
- ``system:reaper``: the expiry reaper; ``system:reconciliation``: what reconciliation
  with the providers found and repaired; ``system``: the engine's own decision (refunding a
  late or extra charge);
- ``provider:<stripe|razorpay>:<provider event id>``: a verified webhook;
- ``worker``: the provider worker, recording what a provider call answered;
- ``unknown``: an event recorded before actors were kept (the upcasters' value).

Changes caused by a provider also carry ``evidence_digest``: the SHA-256 (64 hex digits)
of the raw webhook body or of the recorded provider call, whose text the ``evidence`` table
keeps under that digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain import bounds
from domain.errors import OutOfBounds

UNKNOWN = "unknown"
SYSTEM = "system"
REAPER = "system:reaper"
RECONCILIATION = "system:reconciliation"
WORKER = "worker"

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


# These only spell an actor; the aggregates check it (``bounds.actor``) when they record
# it, so a request is refused for its actor only after what it names was found.


def customer(sub: str) -> str:
    return f"customer:{sub}"


def admin(sub: str) -> str:
    return f"admin:{sub}"


def cli(login: str) -> str:
    return f"cli:{login}"


def provider(name: str, event_id: str) -> str:
    return f"provider:{name}:{event_id}"


def digest(value: str | None) -> str | None:
    """A SHA-256 hex digest as events keep it (lower case), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise OutOfBounds("evidence_digest", "must be 64 lower-case hex digits of SHA-256")
    return value


@dataclass(frozen=True)
class Origin:
    """The actor of a change, and the provider's evidence for it when there is some."""

    actor: str = UNKNOWN
    provider_event_id: str | None = None
    evidence_digest: str | None = None

    def __post_init__(self) -> None:
        bounds.actor(self.actor)
        digest(self.evidence_digest)
        if self.provider_event_id is not None:
            bounds.text(self.provider_event_id, "provider_event_id", bounds.MAX_ACTOR)

    @classmethod
    def webhook(cls, provider_name: str, event_id: str, body_digest: str | None) -> Origin:
        return cls(provider(provider_name, event_id), event_id, body_digest)

    @classmethod
    def worker(cls, evidence_digest: str | None = None) -> Origin:
        return cls(WORKER, None, evidence_digest)


UNKNOWN_ORIGIN = Origin()


def upcast_adding(**added: Any) -> Callable[[dict[str, Any]], None]:
    """An upcaster for a version that added fields: events recorded before it get
    ``added`` (``actor="unknown"``, no evidence), and keep any field they already had."""

    def upcast(state: dict[str, Any]) -> None:
        for name, value in added.items():
            state.setdefault(name, value)

    return upcast


# The fields the actor versions added (adr/0016), as old events read.
ACTOR_ONLY = upcast_adding(actor=UNKNOWN)
WITH_EVIDENCE = upcast_adding(actor=UNKNOWN, evidence_digest=None)
WITH_PROVIDER_EVIDENCE = upcast_adding(actor=UNKNOWN, provider_event_id=None, evidence_digest=None)
