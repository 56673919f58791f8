"""Audit verify throughput: the hash chain recomputed over the whole log (adr/0015).

After the rebuild phase the log holds what the load phases wrote plus the top-up. The
chain follower of the stopped projector chained only the load phases' events, so the
chain is first caught up here (in this process, anchoring into the stack's anchors file,
as the projector would have), and that rate is reported too. Then `audit verify`'s own
function recomputes every link from the stored events and compares it with `audit_chain`
and the stack's anchors, exactly as `checkout-engine audit verify` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from entrypoints.bootstrap import Container
from entrypoints.cli.audit_verify import anchors_from_file, verify_log
from projections.tracking import position

CHAIN_FOLLOWER = "audit_chain"  # the chain follower's tracking row (infrastructure.audit)


def measure_audit_verify(
    container: Container,
    anchors_file: Path,
    progress: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Catch the chain up to the head, then verify it; the caller closes the container."""
    container.upgrade_database()
    chain = container.audit_chain(anchors_file=anchors_file)
    chained_before = position(container.db, CHAIN_FOLLOWER)
    progress(f"audit: catching the hash chain up from {chained_before:,} to the head")
    started = time.perf_counter()
    chained = chain.catch_up()
    chain_seconds = time.perf_counter() - started
    anchors = anchors_from_file(anchors_file) if anchors_file.exists() else None
    progress("audit: verifying the hash chain from the first event")
    result = verify_log(container, anchors)
    if not result.ok:
        raise RuntimeError(f"audit verify failed on the bench's own log: {result.first}")
    return {
        "events": result.events,
        "seconds": round(result.seconds, 2),
        "events_per_s": round(result.events_per_s, 1),
        "anchors": result.anchors,
        "signatures_checked": result.signatures_checked,
        "chain_catch_up": {
            "events": chained - chained_before,
            "seconds": round(chain_seconds, 2),
        },
    }
