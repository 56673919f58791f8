"""The checker's stock replay on v2 and v3 events (adr/0021), without a running stack."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application

from domain import Stock
from tests.chaos.evidence_log import LogFacts, Logged
from tests.chaos.evidence_model import Findings
from tests.chaos.evidence_stock import replay_stock
from tests.old_stock_events import as_v2


@pytest.fixture
def app() -> Iterator[Application[UUID]]:
    application = Application[UUID]()
    yield application
    application.close()


def replay(events: Sequence[Any]) -> tuple[Findings, Any]:
    """The events as the log would list them, the sku loaded with what it was created with."""
    facts = LogFacts(events=[Logged(n, e) for n, e in enumerate(events, start=1)])
    findings = Findings()
    [history] = replay_stock(facts, {"SKU-A": events[0].on_hand}, findings).values()
    return findings, history


def kinds(findings: Findings) -> list[str]:
    return [v.invariant for v in findings.violations]


def test_v2_releases_and_sales_move_what_their_order_reserved(app: Application[UUID]) -> None:
    item, sold, dropped, still_open = Stock.create("SKU-A", 10), uuid4(), uuid4(), uuid4()
    item.reserve(sold, 3)
    item.reserve(dropped, 2)
    item.reserve(still_open, 1)
    item.commit(sold, 3)
    item.release(dropped, 2, "expired")
    old = [app.mapper.to_domain_event(as_v2(app.mapper, e)) for e in item.collect_events()]
    item.commit(still_open, 1)  # after the upgrade: a v3 sale of a v2 reservation
    findings, history = replay([*old, *item.collect_events()])
    assert kinds(findings) == []
    assert (history.on_hand, history.reserved, history.expected_on_hand) == (6, 0, 6)
    assert history.committed_for == {str(sold): 3, str(still_open): 1}


def test_a_release_of_other_units_than_were_reserved_is_reported() -> None:
    item, order = Stock.create("SKU-A", 10), uuid4()
    item.reserve(order, 3)
    item.reserve(uuid4(), 2)
    item.release(order, 2, "cancelled")  # the counts allow it: 5 were reserved in all
    findings, history = replay(item.collect_events())
    assert kinds(findings) == ["stock.settle_mismatch"]
    assert history.reserved == 3, "what the stock's own counts say is still held"


def test_a_sale_of_more_than_is_on_hand_is_oversold() -> None:
    item, order = Stock.create("SKU-A", 1), uuid4()
    item.reserve(order, 1)
    events = item.collect_events()
    forged = Stock.Committed.__new__(Stock.Committed)
    forged.__dict__.update({**vars(events[-1]), "originator_version": 3, "quantity": 2})
    findings, _ = replay([*events, forged])
    assert kinds(findings) == ["stock.settle_mismatch", "stock.negative"]
