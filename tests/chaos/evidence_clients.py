"""The clients' own history as evidence: what each Idempotency-Key was sent for and what it
was answered. The log cannot show that a retried request made a second order or refund
(the key is not on the events), but the clients saw every answer they got.

- checkout: one order per customer and key, whatever the retries and double clicks
  (``checkout.order_per_key``);
- refunds: one refund per order and key (``money.refund_per_key``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from domain.payment_records import RefundKind
from tests.chaos.evidence_log import LogFacts
from tests.chaos.evidence_model import Findings


@dataclass(frozen=True)
class Replay:
    """A checkout sent twice with one key (a double click), and both answers."""

    customer: str
    key: str
    first_status: int
    first_body: str
    again_status: int
    again_body: str


@dataclass
class ClientHistory:
    # customer -> the keys it sent POST /checkout with
    checkout_keys: dict[str, set[str]] = field(default_factory=dict)
    # (customer, key) -> the order ids its 201s named
    checkout_answers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # order id -> the keys the operator sent refunds with
    refund_keys: dict[str, set[str]] = field(default_factory=dict)
    # (order id, key) -> the refund ids its 202s named
    refund_answers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    replays: list[Replay] = field(default_factory=list)


def check_clients(facts: LogFacts, history: ClientHistory | None, findings: Findings) -> None:
    if history is None:
        return
    _one_per_key("checkout.order_per_key", history.checkout_answers, findings)
    for replay in history.replays:
        _check_replay(replay, findings)
    findings.count("checkout replays", len(history.replays))
    _one_per_key("money.refund_per_key", history.refund_answers, findings)
    orders_of: Counter[str] = Counter(str(o.customer_id) for o in facts.orders.values())
    for customer, keys in history.checkout_keys.items():
        if orders_of[customer] > len(keys):
            findings.add(
                "checkout.order_per_key",
                customer,
                f"{orders_of[customer]} orders in the log for {len(keys)} Idempotency-Keys",
            )
    findings.count("checkout keys", sum(len(k) for k in history.checkout_keys.values()))
    for order_id, payment in ((p.order_id, p) for p in facts.payments.values()):
        keys = history.refund_keys.get(str(order_id), set())
        asked = [r for r in payment.refunds.values() if r["kind"] == RefundKind.REQUESTED]
        if len(asked) > len(keys):
            findings.add(
                "money.refund_per_key",
                order_id,
                f"{len(asked)} operator refunds in the log "
                f"({sum(r['amount'] for r in asked)} in all) for {len(keys)} Idempotency-Keys",
            )
    findings.count("refund keys", sum(len(k) for k in history.refund_keys.values()))


def _one_per_key(
    kind: str, answers: Mapping[tuple[str, str], Set[str]], findings: Findings
) -> None:
    for (subject, key), named in answers.items():
        if len(named) > 1:
            findings.add(kind, subject, f"key {key} answered with {len(named)}: {sorted(named)}")


def _check_replay(replay: Replay, findings: Findings) -> None:
    """An accepted checkout replays its first answer (CONTRACT: the same key with the same
    body replays the first response). A refused one wrote nothing, so sending it again is a
    new attempt: a restock in between may let it through."""
    if replay.first_status != 201:
        return
    same = replay.again_status == 201 and _json(replay.again_body) == _json(replay.first_body)
    if not same:
        findings.add(
            "checkout.replay_mismatch",
            replay.customer,
            f"key {replay.key}: first 201 {replay.first_body[:200]}, "
            f"then {replay.again_status} {replay.again_body[:200]}",
        )


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text
