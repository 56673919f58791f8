"""`checkout-engine catalog load FILE` against a real database."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from application.application import CheckoutApplication
from domain import Product, Stock
from tests.cli import run_cli, with_database


def load(database_url: str, path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return run_cli("catalog", "load", str(path), *flags, env=with_database(database_url))


def write(tmp_path: Path, items: object) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(items))
    return path


ITEMS = [
    {
        "sku": "MUG",
        "name": "Mug",
        "vendorId": "v1",
        "unitAmount": 1250,
        "currency": "usd",
        "stock": 7,
    },
    {
        "sku": "TEA",
        "name": "Tea",
        "vendorId": "v2",
        "unitAmount": 500,
        "currency": "USD",
        "stock": 0,
    },
]


def test_load_creates_then_updates(
    database_url: str, app: CheckoutApplication, tmp_path: Path
) -> None:
    first = load(database_url, write(tmp_path, ITEMS))
    assert first.returncode == 0, first.stderr
    assert "2 created, 0 updated, 0 unchanged" in first.stdout
    changed = [{**ITEMS[0], "unitAmount": 1300, "stock": 9}, ITEMS[1]]
    second = load(database_url, write(tmp_path, changed))
    assert "0 created, 1 updated, 1 unchanged" in second.stdout
    mug = app.load(Product, Product.id_for("MUG"))
    assert (mug.unit_amount, mug.currency, mug.vendor_id) == (1300, "USD", "v1")
    # Without --restock or --set-available an existing sku keeps its stock.
    assert app.load(Stock, Stock.id_for("MUG")).on_hand == 7


def _sell(app: CheckoutApplication, sku: str, units: int) -> None:
    stock = app.load(Stock, Stock.id_for(sku))
    order = uuid.uuid4()
    stock.reserve(order, units)
    stock.commit(order, units)
    app.save(stock)


def test_reloading_after_sales_puts_nothing_back_on_sale(
    database_url: str, app: CheckoutApplication, tmp_path: Path
) -> None:
    limited = [{**ITEMS[0], "stock": 3}]
    assert load(database_url, write(tmp_path, limited)).returncode == 0
    _sell(app, "MUG", 3)  # a limited run of 3, sold out

    again = load(database_url, write(tmp_path, limited))

    assert again.returncode == 0, again.stderr
    assert app.load(Stock, Stock.id_for("MUG")).available == 0
    restocked = load(database_url, write(tmp_path, [{**ITEMS[0], "stock": 2}]), "--restock")
    assert restocked.returncode == 0, restocked.stderr
    assert app.load(Stock, Stock.id_for("MUG")).available == 2
    reset = load(database_url, write(tmp_path, [{**ITEMS[0], "stock": 5}]), "--set-available")
    assert reset.returncode == 0, reset.stderr
    stock = app.load(Stock, Stock.id_for("MUG"))
    assert (stock.available, stock.on_hand) == (5, 5)


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ([{**ITEMS[0], "unitAmount": 12.5}], "0/unitAmount: Input should be a valid integer"),
        # The domain's own words, as an upload through the API gets them.
        ([{**ITEMS[0], "stock": -1}], "0: quantity for MUG must be a positive integer, got -1"),
        ([{**ITEMS[0], "sku": "S" * 65}], "0/sku: must be at most 64 characters"),
        ([{**ITEMS[0], "colour": "red"}], "0/colour: Extra inputs are not permitted"),
        ([{**ITEMS[0], "currency": "XYZ"}], "unknown ISO 4217 currency"),
        ([ITEMS[0], ITEMS[0]], "more than once"),
        ({"sku": "MUG"}, "top level: Input should be a valid list"),
    ],
)
def test_a_bad_file_exits_2_and_loads_nothing(
    database_url: str, app: CheckoutApplication, tmp_path: Path, items: object, reason: str
) -> None:
    result = load(database_url, write(tmp_path, [ITEMS[1]]))
    assert result.returncode == 0
    result = load(database_url, write(tmp_path, items))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert reason in errors[0]
    assert app.head_position() == 2  # only the first, valid load


def test_malformed_json_and_missing_file(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[{")
    assert load(database_url, path).returncode == 2
    missing = load(database_url, tmp_path / "nope.json")
    assert missing.returncode == 2
    assert "No such file or directory" in missing.stderr
