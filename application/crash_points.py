"""Named places where a fault-injection run may kill this process, as `kill -9` would.

Timing alone rarely lands a kill between two particular statements (a produce and the
position save, a provider's answer and its recording), so the chaos suite (tests/chaos) arms
points by name in a role's environment::

    CHECKOUT_CRASH_POINTS="relay.before_save@2,events.in_transaction@5"

``name@n`` kills the process the n-th time it passes that point (``@1`` when omitted).
Unarmed, which is always the case in production, ``crash_point`` is one dictionary lookup.
Before dying, the process writes one JSON line to stderr naming the point, so the run's log
says why the role vanished; SIGKILL then leaves no chance to clean up: no rollback hook,
no ``finally``, no atexit.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Mapping

ENVIRONMENT_VARIABLE = "CHECKOUT_CRASH_POINTS"

# Every point the engine passes, with where it is. Arming an unknown name is refused, so a
# renamed point cannot leave a chaos schedule silently armed at nothing.
POINTS: Mapping[str, str] = {
    "events.in_transaction": "events inserted and the events table locked, not yet committed",
    "relay.before_produce": "a batch read from the outbox, nothing produced yet",
    "relay.before_save": "every record of a batch acknowledged, the position not yet saved",
    "projector.before_commit": "a page applied to a view and its position moved, not committed",
    "worker.after_provider_call": "the provider answered, its answer not yet recorded",
    "webhooks.before_apply": "a webhook stored in the inbox, not yet applied",
}


def parse(spec: str) -> dict[str, int]:
    """``"a@2,b"`` -> ``{"a": 2, "b": 1}``; ValueError for unknown points or bad counts."""
    armed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.partition("@")
        if name not in POINTS:
            raise ValueError(f"unknown crash point {name!r}; known: {', '.join(sorted(POINTS))}")
        hits = int(count) if count else 1
        if hits < 1:
            raise ValueError(f"crash point {name!r}: the count must be at least 1")
        armed[name] = hits
    return armed


_lock = threading.Lock()
_armed: dict[str, int] = parse(os.environ.get(ENVIRONMENT_VARIABLE, ""))


def crash_point(name: str) -> None:
    """Die here, at once, if this point is armed and its count has run out."""
    if name not in _armed:
        return
    with _lock:
        _armed[name] -= 1
        if _armed[name] > 0:
            return
    line = json.dumps({"event": "crash point reached", "point": name, "pid": os.getpid()})
    os.write(2, line.encode() + b"\n")
    os.kill(os.getpid(), signal.SIGKILL)


def arm(spec: str) -> None:
    """Arm points in this process (tests that crash a child process arm it by environment)."""
    with _lock:
        _armed.clear()
        _armed.update(parse(spec))
