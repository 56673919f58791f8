from __future__ import annotations

import copy
from uuid import uuid4, uuid5

import pytest

from domain import (
    CHECKOUT_NAMESPACE,
    InsufficientStock,
    InvalidQuantity,
    Stock,
    UnknownReservation,
    reserve_all,
)


def stock(sku: str = "SKU-A", on_hand: int = 10) -> Stock:
    return Stock.create(sku, on_hand)


def test_id_is_derived_from_the_sku() -> None:
    assert stock("S1").id == Stock.id_for("S1") == uuid5(CHECKOUT_NAMESPACE, "stock:S1")


def test_reserve_holds_units_for_an_order() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 3)
    assert (item.on_hand, item.reserved, item.available) == (10, 3, 7)
    assert item.legacy_reservations == {}, "a new reservation is only counted"
    [reserved] = item.collect_events()[1:]
    assert isinstance(reserved, Stock.Reserved)
    assert (reserved.order_id, reserved.quantity, reserved.legacy) == (str(order_id), 3, False)


def test_reserving_more_than_available_names_the_sku() -> None:
    item = stock(on_hand=2)
    item.reserve(uuid4(), 1)
    with pytest.raises(InsufficientStock) as caught:
        item.reserve(uuid4(), 2)
    assert caught.value.skus == ["SKU-A"]
    assert item.reserved == 1


def test_reserving_exactly_what_is_available_is_allowed() -> None:
    item = stock(on_hand=2)
    item.reserve(uuid4(), 2)
    assert item.available == 0


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_quantity_must_be_a_positive_int(quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        stock().reserve(uuid4(), quantity)


def test_the_counts_do_not_grow_with_open_orders() -> None:
    item = stock(on_hand=1000)
    for _ in range(500):
        item.reserve(uuid4(), 2)
    assert (item.reserved, item.available, item.legacy_reservations) == (1000, 0, {})
    own = {name for name in vars(item) if not name.startswith("_")}  # the library's aside
    assert own == {"sku", "on_hand", "reserved", "legacy_reservations"}


def test_release_frees_the_units() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 4)
    item.release(order_id, 4, "cancelled")
    assert (item.on_hand, item.reserved, item.available) == (10, 0, 10)
    released = item.collect_events()[-1]
    assert isinstance(released, Stock.Released)
    assert (released.order_id, released.quantity) == (str(order_id), 4)


def test_commit_turns_the_reservation_into_a_sale() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 4)
    item.commit(order_id, 4)
    assert (item.on_hand, item.reserved, item.available) == (6, 0, 6)
    committed = item.collect_events()[-1]
    assert isinstance(committed, Stock.Committed)
    assert committed.quantity == 4


def test_releasing_more_than_is_reserved_is_refused() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 2)
    item.commit(order_id, 1)  # the counts cannot tell whose units these are
    with pytest.raises(UnknownReservation, match=r"cannot release: .* holding 1 units"):
        item.release(order_id, 2, "late")
    assert (item.on_hand, item.reserved, item.version) == (9, 1, 3)


def test_committing_more_than_is_reserved_is_refused() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 1)
    item.release(order_id, 1, "cancelled")
    with pytest.raises(UnknownReservation, match="cannot commit"):
        item.commit(order_id, 1)
    assert (item.on_hand, item.reserved, item.version) == (10, 0, 3)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_a_release_or_sale_moves_a_positive_int(quantity: int) -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 2)
    with pytest.raises(InvalidQuantity):
        item.release(order_id, quantity, "cancelled")
    with pytest.raises(InvalidQuantity):
        item.commit(order_id, quantity)
    assert item.reserved == 2


def test_restock_adds_units() -> None:
    item = stock(on_hand=0)
    item.restock(5)
    assert item.on_hand == 5
    with pytest.raises(InvalidQuantity):
        item.restock(0)


def test_set_available_records_only_changes() -> None:
    item = stock(on_hand=5)
    assert item.set_available(5) is False
    assert item.set_available(8) is True
    assert item.on_hand == 8


def test_set_available_counts_on_top_of_what_is_reserved() -> None:
    item = stock(on_hand=5)
    item.reserve(uuid4(), 3)
    assert item.set_available(2) is False  # 2 are available already
    assert item.set_available(0) is True
    assert (item.on_hand, item.reserved, item.available) == (3, 3, 0)


@pytest.mark.parametrize("on_hand", [-1, 2.0])
def test_stock_is_never_negative(on_hand: int) -> None:
    with pytest.raises(InvalidQuantity):
        Stock.create("SKU", on_hand)
    with pytest.raises(InvalidQuantity):
        stock().set_available(on_hand)


def test_reserve_all_reserves_every_sku() -> None:
    stocks = {"A": stock("A", 5), "B": stock("B", 5)}
    order_id = uuid4()
    reserve_all(stocks, {"A": 2, "B": 5}, order_id)
    assert stocks["A"].reserved == 2
    assert stocks["B"].available == 0


def test_reserve_all_is_all_or_nothing_and_lists_every_short_sku() -> None:
    stocks = {"A": stock("A", 5), "B": stock("B", 1), "C": stock("C", 0)}
    with pytest.raises(InsufficientStock) as caught:
        reserve_all(stocks, {"A": 2, "B": 2, "C": 1, "MISSING": 1}, uuid4())
    assert caught.value.skus == ["B", "C", "MISSING"]
    assert all(s.reserved == 0 and s.version == 1 for s in stocks.values())


def test_reserve_all_validates_quantities_before_recording() -> None:
    stocks = {"A": stock("A", 5), "B": stock("B", 5)}
    with pytest.raises(InvalidQuantity):
        reserve_all(stocks, {"A": 1, "B": 0}, uuid4())
    assert stocks["A"].reserved == 0


def test_a_second_reservation_for_an_order_is_the_orders_to_refuse() -> None:
    """The counts do not know orders: the duplicate checkout's Order.Created collides in the
    same transaction (tests/unit/application/test_stock_guards.py)."""
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 1)
    item.reserve(order_id, 1)
    assert item.reserved == 2


def test_a_deep_copy_is_independent_of_the_original_and_equal_to_it() -> None:
    """The checkout writer restores such copies when a batch fails (application.group_commit)."""
    stock = Stock.create("sku-copy", 10, actor="admin:ops")
    stock.reserve("order-1", 2, actor="customer:alice")
    stock.legacy_reservations["order-0"] = 1  # as an upcast v2 reservation leaves it
    stock.reserved += 1

    clone = copy.deepcopy(stock)

    assert vars(clone) == vars(stock)
    for name, value in vars(stock).items():
        if isinstance(value, list | dict | set):
            assert getattr(clone, name) is not value, name
    stock.reserve("order-2", 3, actor="customer:bob")
    stock.release("order-1", 2, "expired", actor="system:reaper")
    assert (clone.reserved, clone.version, clone.legacy_reservations) == (3, 2, {"order-0": 1})
    assert len(clone.pending_events) == 2
