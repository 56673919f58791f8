"""The PaymentGateway contract: one test case every adapter must pass (STYLE.md rule 5).

Each concrete subclass runs these tests through its real SDK against the provider
sandbox. Faults are injected with the sandbox's fault controls.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from typing import ClassVar

import pytest

from application.ports import (
    PaymentGateway,
    PermanentProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefundRequest,
    ProviderRefundStatus,
    TransientProviderError,
)
from tests.integration.payments.sandbox import ProviderSandbox
from tests.waiting import wait_until

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connections are refused


class GatewayContract(ABC):
    currency: ClassVar[str]
    amount: ClassVar[int] = 50_000
    order_id_pattern: ClassVar[str]
    refund_id_pattern: ClassVar[str]
    create_path: ClassVar[str]  # where order creation is answered, for fault injection
    refund_path: ClassVar[str]
    unknown_payment_id: ClassVar[str]

    @abstractmethod
    def make_gateway(
        self, sandbox: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway: ...

    @abstractmethod
    def objects_for(self, sandbox: ProviderSandbox, request: ProviderOrderRequest) -> list[str]:
        """Ids of the provider objects that exist for this payment."""

    @abstractmethod
    def pay(self, sandbox: ProviderSandbox, order: ProviderOrder) -> str:
        """The customer pays; returns the gateway payment id refunds are made against."""

    @abstractmethod
    def assert_payable_shape(self, order: ProviderOrder) -> None: ...

    @abstractmethod
    def assert_cancelled(self, sandbox: ProviderSandbox, order: ProviderOrder) -> None: ...

    @abstractmethod
    def refunds_of(self, sandbox: ProviderSandbox, gateway_payment_id: str) -> list[str]: ...

    @pytest.fixture
    def gateway(self, sandbox: ProviderSandbox) -> PaymentGateway:
        return self.make_gateway(sandbox)

    def refund(self, paid: str, amount: int, refund_id: str) -> ProviderRefundRequest:
        return ProviderRefundRequest(uuid.uuid4(), refund_id, paid, amount, self.currency)

    def request(self) -> ProviderOrderRequest:
        return ProviderOrderRequest(
            uuid.uuid4(), uuid.uuid4(), self.amount, self.currency, "customer-1"
        )

    def test_creates_the_object_the_customer_pays(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        request = self.request()

        order = gateway.create_order(request)

        assert re.fullmatch(self.order_id_pattern, order.gateway_order_id)
        assert self.objects_for(sandbox, request) == [order.gateway_order_id]
        self.assert_payable_shape(order)

    def test_a_repeated_create_returns_the_first_object(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        request = self.request()

        first = gateway.create_order(request)
        again = gateway.create_order(request)

        assert again == first
        assert self.objects_for(sandbox, request) == [first.gateway_order_id]

    def test_each_payment_gets_its_own_object(self, gateway: PaymentGateway) -> None:
        one = gateway.create_order(self.request())
        other = gateway.create_order(self.request())
        assert one.gateway_order_id != other.gateway_order_id

    @pytest.mark.parametrize("status", [429, 500, 503])
    def test_an_outage_is_transient_and_a_retry_succeeds(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway, status: int
    ) -> None:
        request = self.request()
        sandbox.fault(self.create_path, status)

        with pytest.raises(TransientProviderError):
            gateway.create_order(request)
        order = gateway.create_order(request)

        assert self.objects_for(sandbox, request) == [order.gateway_order_id]

    def test_an_unreachable_provider_is_transient(self, sandbox: ProviderSandbox) -> None:
        gateway = self.make_gateway(sandbox, base=UNREACHABLE)
        with pytest.raises(TransientProviderError):
            gateway.create_order(self.request())

    def test_a_timeout_is_transient_and_the_retry_finds_what_the_slow_call_made(
        self, sandbox: ProviderSandbox
    ) -> None:
        request = self.request()
        sandbox.fault(self.create_path, delay_seconds=1.0, method="POST")
        impatient = self.make_gateway(sandbox, timeout=0.3)

        with pytest.raises(TransientProviderError):
            impatient.create_order(request)
        made = wait_until(lambda: self.objects_for(sandbox, request), what="the slow create")
        order = impatient.create_order(request)

        assert [order.gateway_order_id] == made == self.objects_for(sandbox, request)

    @pytest.mark.parametrize("status", [400, 401, 404])
    def test_a_refused_request_is_permanent(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway, status: int
    ) -> None:
        sandbox.fault(self.create_path, status)
        with pytest.raises(PermanentProviderError) as refused:
            gateway.create_order(self.request())
        assert refused.value.reason

    def test_refunds_a_captured_payment(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        order = gateway.create_order(self.request())
        paid = self.pay(sandbox, order)

        refund = gateway.refund(self.refund(paid, 1000, str(uuid.uuid4())))

        assert re.fullmatch(self.refund_id_pattern, refund.gateway_refund_id)
        assert refund.status is ProviderRefundStatus.SUCCEEDED
        assert self.refunds_of(sandbox, paid) == [refund.gateway_refund_id]

    def test_reads_a_captured_payment_back_with_its_order_and_money(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        order = gateway.create_order(self.request())
        paid = self.pay(sandbox, order)

        charge = gateway.charge(paid)

        assert charge.gateway_payment_id == paid
        assert charge.gateway_order_id == order.gateway_order_id
        assert (charge.amount, charge.currency, charge.captured) == (
            self.amount,
            self.currency,
            True,
        )

    def test_reading_an_unknown_payment_is_permanent(self, gateway: PaymentGateway) -> None:
        with pytest.raises(PermanentProviderError):
            gateway.charge(self.unknown_payment_id)

    def test_a_refund_found_at_the_provider_is_not_made_again(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        """Even once the provider has forgotten the idempotency key (Stripe: 24 hours)."""
        paid = self.pay(sandbox, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))
        first = gateway.refund(request)
        sandbox.forget_idempotency_keys()

        again = gateway.refund(request)

        assert again.gateway_refund_id == first.gateway_refund_id
        assert self.refunds_of(sandbox, paid) == [first.gateway_refund_id]

    def test_a_repeated_refund_refunds_once(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        paid = self.pay(sandbox, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))

        first = gateway.refund(request)
        again = gateway.refund(request)
        other = gateway.refund(self.refund(paid, 1000, str(uuid.uuid4())))

        assert again.gateway_refund_id == first.gateway_refund_id
        assert other.gateway_refund_id != first.gateway_refund_id
        assert sorted(self.refunds_of(sandbox, paid)) == sorted(
            [first.gateway_refund_id, other.gateway_refund_id]
        )

    def test_over_refund_is_permanent(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        paid = self.pay(sandbox, gateway.create_order(self.request()))
        with pytest.raises(PermanentProviderError):
            gateway.refund(self.refund(paid, self.amount + 100, str(uuid.uuid4())))
        gateway.refund(self.refund(paid, self.amount - 1000, str(uuid.uuid4())))
        with pytest.raises(PermanentProviderError):
            gateway.refund(self.refund(paid, 1100, str(uuid.uuid4())))
        assert len(self.refunds_of(sandbox, paid)) == 1

    def test_a_refund_outage_is_transient_and_a_retry_refunds_once(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        paid = self.pay(sandbox, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))
        sandbox.fault(self.refund_path, 503)

        with pytest.raises(TransientProviderError):
            gateway.refund(request)
        refund = gateway.refund(request)

        assert self.refunds_of(sandbox, paid) == [refund.gateway_refund_id]

    def test_cancel_is_safe_to_repeat(
        self, sandbox: ProviderSandbox, gateway: PaymentGateway
    ) -> None:
        order = gateway.create_order(self.request())

        gateway.cancel(order.gateway_order_id)
        gateway.cancel(order.gateway_order_id)

        self.assert_cancelled(sandbox, order)
