"""Many customers racing for the last units: stock never oversells."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from application.catalog import CatalogEntry
from tests.e2e.conftest import RunningApi
from tests.stock_ledger import held_by_order

BUYERS = 40
UNITS = 12


def test_parallel_checkouts_sell_exactly_the_stock(api: RunningApi) -> None:
    api.container.catalog.upsert(
        [CatalogEntry("SKU-RACE", "Last units", "vendor-z", 700, "USD", UNITS)]
    )
    start = threading.Barrier(BUYERS)

    def buy(n: int) -> int:
        start.wait()
        return api.checkout(f"racer-{n}", [{"sku": "SKU-RACE", "quantity": 1}]).status_code

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        statuses = Counter(pool.map(buy, range(BUYERS)))

    assert statuses == {201: UNITS, 409: BUYERS - UNITS}
    stock = api.stock("SKU-RACE")
    assert stock.available == 0
    assert stock.reserved == UNITS
    assert len(held_by_order(api.container.app, "SKU-RACE")) == UNITS
