from __future__ import annotations

from uuid import uuid4, uuid5

import pytest

from domain import (
    CHECKOUT_NAMESPACE,
    DuplicateReservation,
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
    assert item.reservations == {str(order_id): 3}
    assert item.has_reservation(order_id)
    assert item.reserved_for(str(order_id)) == 3


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


def test_reserving_twice_for_the_same_order_raises() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 1)
    with pytest.raises(DuplicateReservation):
        item.reserve(order_id, 1)
    assert item.reserved == 1


def test_release_frees_the_units() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 4)
    item.release(order_id, "cancelled")
    assert (item.on_hand, item.reserved, item.available) == (10, 0, 10)
    assert isinstance(item.collect_events()[-1], Stock.Released)


def test_commit_turns_the_reservation_into_a_sale() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 4)
    item.commit(order_id)
    assert (item.on_hand, item.reserved, item.available) == (6, 0, 6)


def test_unknown_reservations_cannot_be_released() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 1)
    item.commit(order_id)
    with pytest.raises(UnknownReservation, match="cannot release"):
        item.release(order_id, "late")
    assert item.on_hand == 9


def test_unknown_reservations_cannot_be_committed() -> None:
    item, order_id = stock(), uuid4()
    item.reserve(order_id, 1)
    item.release(order_id, "cancelled")
    with pytest.raises(UnknownReservation, match="cannot commit"):
        item.commit(order_id)
    assert item.on_hand == 10


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
    assert stocks["A"].reserved_for(order_id) == 2
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


def test_reserve_all_refuses_a_duplicate_without_recording() -> None:
    stocks = {"A": stock("A", 5), "B": stock("B", 5)}
    order_id = uuid4()
    stocks["B"].reserve(order_id, 1)
    with pytest.raises(DuplicateReservation):
        reserve_all(stocks, {"A": 1, "B": 1}, order_id)
    assert stocks["A"].reserved == 0
