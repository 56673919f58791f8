"""The in-memory fake gateway under the same contract as the Stripe and Razorpay adapters.

In microseconds and without the sandbox: the fake's own controls stand in for the
sandbox's faults. A provider's answer of 429 or 5xx is what the port calls transient
(application/ports.py); any other refusal is permanent.
"""

from __future__ import annotations

import pytest

from application.ports import (
    Evidence,
    EvidenceKind,
    EvidencingGateway,
    PaymentGateway,
    PermanentProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    TransientProviderError,
)
from tests.fakes.gateway import CANCELED, OPEN, RAZORPAY_KEY_ID, FakeGateway
from tests.integration.payments.contract import FaultyCall, GatewayContract


class FakeGatewayContract(GatewayContract[FakeGateway]):
    provider_name: str

    @pytest.fixture
    def backend(self) -> FakeGateway:
        return FakeGateway(self.provider_name)

    def make_gateway(self, backend: FakeGateway) -> PaymentGateway:
        return backend

    def unreachable_gateway(self, backend: FakeGateway) -> PaymentGateway:
        backend.reachable = False
        return backend

    def gateway_timing_out_on_next_create(self, backend: FakeGateway) -> PaymentGateway:
        backend.lose_next_answer("create_order")
        return backend

    def fail_next(self, backend: FakeGateway, call: FaultyCall, status: int) -> None:
        transient = status == 429 or status >= 500
        kind = TransientProviderError if transient else PermanentProviderError
        backend.fail_next(call, kind(f"{backend.name} answered {status}"))

    def forget_idempotency_keys(self, backend: FakeGateway) -> None:
        """Nothing to forget: the fake finds a refund by its refund id, as the adapters do
        by the metadata (Stripe) or notes (Razorpay) they tag it with."""

    def objects_for(self, backend: FakeGateway, request: ProviderOrderRequest) -> list[str]:
        return backend.objects_for(request.payment_id)

    def pay(self, backend: FakeGateway, order: ProviderOrder) -> str:
        return backend.pay(order.gateway_order_id)

    def refunds_of(self, backend: FakeGateway, gateway_payment_id: str) -> list[str]:
        return backend.refunds_of(gateway_payment_id)

    # -- evidence (adr/0016): what the adapters' with_evidence views hand back -------------

    def test_hands_back_each_call_and_its_answer_as_evidence(self, backend: FakeGateway) -> None:
        assert isinstance(backend, EvidencingGateway)
        kept: list[Evidence] = []
        gateway = backend.with_evidence(kept.append)
        order = gateway.create_order(self.request())
        again = gateway.create_order(self.request())
        gateway.cancel(order.gateway_order_id)

        assert [e.kind for e in kept] == [EvidenceKind.PROVIDER_CALL] * 3
        assert kept[0].object_id == order.gateway_order_id
        assert kept[0].provider == self.provider_name
        assert again.gateway_order_id != order.gateway_order_id  # another payment's object
        assert backend.objects_for(self.request().payment_id) == []  # same state as the fake
        assert {order.gateway_order_id, again.gateway_order_id} <= set(backend.objects)
        assert len({e.digest for e in kept}) == 3

    def test_a_refusal_is_evidence_too(self, backend: FakeGateway) -> None:
        kept: list[Evidence] = []
        backend.fail_next("create_order", PermanentProviderError("amount_too_small"))
        with pytest.raises(PermanentProviderError):
            backend.with_evidence(kept.append).create_order(self.request())
        (refused,) = kept
        assert '"error":"amount_too_small"' in refused.body
        assert '"response":null' in refused.body


class TestFakeStripeGateway(FakeGatewayContract):
    provider_name = "stripe"
    currency = "USD"
    order_id_pattern = r"pi_[A-Za-z0-9]{24}"
    refund_id_pattern = r"re_[A-Za-z0-9]{24}"
    unknown_payment_id = "pi_unknown0000000000000"

    def assert_payable_shape(self, order: ProviderOrder) -> None:
        assert order.gateway_payment_id == order.gateway_order_id
        assert order.client_secret is not None
        assert order.client_secret.startswith(f"{order.gateway_order_id}_secret_")
        assert order.key_id is None

    def assert_cancelled(self, backend: FakeGateway, order: ProviderOrder) -> None:
        assert backend.objects[order.gateway_order_id].status == CANCELED


class TestFakeRazorpayGateway(FakeGatewayContract):
    provider_name = "razorpay"
    currency = "INR"
    order_id_pattern = r"order_[A-Za-z0-9]{14}"
    refund_id_pattern = r"rfnd_[A-Za-z0-9]{14}"
    unknown_payment_id = "pay_Unknown0000001"

    def assert_payable_shape(self, order: ProviderOrder) -> None:
        assert order.key_id == RAZORPAY_KEY_ID
        assert (order.gateway_payment_id, order.client_secret) == (None, None)

    def assert_cancelled(self, backend: FakeGateway, order: ProviderOrder) -> None:
        # Razorpay cannot cancel an order: it stays as it was (the adapter's no-op).
        assert backend.objects[order.gateway_order_id].status == OPEN
