"""A volley of values no view could store is refused, and payments keep flowing after it."""

from __future__ import annotations

from typing import Any

from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop

PRODUCT = {"sku": "SKU-V", "name": "Vase", "vendorId": "v", "unitAmount": 100, "currency": "USD"}
VOLLEY: list[dict[str, Any]] = [
    PRODUCT | {"unitAmount": 2**63, "stock": 1},
    PRODUCT | {"unitAmount": 5 * 10**18, "stock": 1},
    PRODUCT | {"stock": 2**63},
    PRODUCT | {"stock": 10**9 + 1},
    PRODUCT | {"name": "Vase\u0000", "stock": 1},
    PRODUCT | {"sku": "SKU-\u0000", "stock": 1},
    PRODUCT | {"vendorId": "v\u001b[2J", "stock": 1},
]


def test_after_a_volley_of_poison_checkouts_still_get_their_provider_objects(
    shop: PaymentShop,
) -> None:
    api = shop.api
    before = api.head()

    answers = [api.client.post("/admin/products", json=p, headers=api.admin()) for p in VOLLEY]
    big_cart = api.checkout(customer(), [{"sku": "SKU-1", "quantity": 1001}])
    control = api.checkout("cust\u0000", [{"sku": "SKU-1", "quantity": 1}])

    assert {a.status_code for a in answers} == {422}, [a.text for a in answers]
    assert (big_cart.status_code, control.status_code) == (422, 422)
    assert api.head() == before, "nothing was recorded"
    for provider in ("stripe", "razorpay"):
        buyer = customer()
        order_id = shop.checkout(buyer, provider)
        payment = shop.payable(order_id, buyer)
        assert payment["gatewayOrderId"]
    assert api.client.get("/readyz").status_code == 200
