"""The PaymentGateway contract: one test case every implementation must pass (STYLE.md rule 5).

The real adapters run it through their SDKs against the provider sandbox (sandbox_contract.py,
faults injected with the sandbox's fault controls); the in-memory fake the application tests
use (tests/fakes) runs it too, so that the fake cannot drift from what the adapters do. A
subclass says how to see the provider's side of things (its ``backend`` fixture) and how to
make that provider misbehave.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from abc import ABC, abstractmethod
from typing import ClassVar, Generic, Literal, TypeVar

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
from tests.waiting import wait_until

Backend = TypeVar("Backend")
FaultyCall = Literal["create_order", "refund"]


class GatewayContract(ABC, Generic[Backend]):
    currency: ClassVar[str]
    amount: ClassVar[int] = 50_000
    order_id_pattern: ClassVar[str]
    refund_id_pattern: ClassVar[str]
    unknown_payment_id: ClassVar[str]

    # A subclass provides the fixture ``backend``: the provider as the test sees it.

    @abstractmethod
    def make_gateway(self, backend: Backend) -> PaymentGateway: ...

    @abstractmethod
    def unreachable_gateway(self, backend: Backend) -> PaymentGateway:
        """A gateway whose provider cannot be reached at all."""

    @abstractmethod
    def gateway_timing_out_on_next_create(self, backend: Backend) -> PaymentGateway:
        """A gateway whose next ``create_order`` gives up waiting while the provider acts."""

    @abstractmethod
    def fail_next(self, backend: Backend, call: FaultyCall, status: int) -> None:
        """The provider answers the next ``call`` with HTTP ``status``, doing nothing."""

    @abstractmethod
    def forget_idempotency_keys(self, backend: Backend) -> None:
        """What Stripe does 24 hours after a request: its key no longer replays it."""

    @abstractmethod
    def objects_for(self, backend: Backend, request: ProviderOrderRequest) -> list[str]:
        """Ids of the provider objects that exist for this payment."""

    @abstractmethod
    def pay(self, backend: Backend, order: ProviderOrder) -> str:
        """The customer pays; returns the gateway payment id refunds are made against."""

    @abstractmethod
    def assert_payable_shape(self, order: ProviderOrder) -> None: ...

    @abstractmethod
    def assert_cancelled(self, backend: Backend, order: ProviderOrder) -> None: ...

    @abstractmethod
    def refunds_of(self, backend: Backend, gateway_payment_id: str) -> list[str]: ...

    @pytest.fixture
    def gateway(self, backend: Backend) -> PaymentGateway:
        return self.make_gateway(backend)

    def refund(self, paid: str, amount: int, refund_id: str) -> ProviderRefundRequest:
        return ProviderRefundRequest(uuid.uuid4(), refund_id, paid, amount, self.currency)

    def request(self) -> ProviderOrderRequest:
        return ProviderOrderRequest(
            uuid.uuid4(), uuid.uuid4(), self.amount, self.currency, "customer-1"
        )

    def test_creates_the_object_the_customer_pays(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        request = self.request()

        order = gateway.create_order(request)

        assert re.fullmatch(self.order_id_pattern, order.gateway_order_id)
        assert self.objects_for(backend, request) == [order.gateway_order_id]
        self.assert_payable_shape(order)

    def test_a_repeated_create_returns_the_first_object(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        request = self.request()

        first = gateway.create_order(request)
        again = gateway.create_order(request)

        assert again == first
        assert self.objects_for(backend, request) == [first.gateway_order_id]

    def test_a_retry_after_a_first_attempt_finds_what_it_made(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        """The worker's first claim of a task skips any look-up (``first_attempt``); the
        retry after a lost answer must still find what the first call made."""
        request = self.request()

        first = gateway.create_order(dataclasses.replace(request, first_attempt=True))
        again = gateway.create_order(request)

        assert again == first
        assert self.objects_for(backend, request) == [first.gateway_order_id]

    def test_each_payment_gets_its_own_object(self, gateway: PaymentGateway) -> None:
        one = gateway.create_order(self.request())
        other = gateway.create_order(self.request())
        assert one.gateway_order_id != other.gateway_order_id

    @pytest.mark.parametrize("status", [429, 500, 503])
    def test_an_outage_is_transient_and_a_retry_succeeds(
        self, backend: Backend, gateway: PaymentGateway, status: int
    ) -> None:
        request = self.request()
        self.fail_next(backend, "create_order", status)

        with pytest.raises(TransientProviderError):
            gateway.create_order(request)
        order = gateway.create_order(request)

        assert self.objects_for(backend, request) == [order.gateway_order_id]

    def test_an_unreachable_provider_is_transient(self, backend: Backend) -> None:
        gateway = self.unreachable_gateway(backend)
        with pytest.raises(TransientProviderError):
            gateway.create_order(self.request())

    def test_a_timeout_is_transient_and_the_retry_finds_what_the_slow_call_made(
        self, backend: Backend
    ) -> None:
        request = self.request()
        impatient = self.gateway_timing_out_on_next_create(backend)

        with pytest.raises(TransientProviderError):
            impatient.create_order(request)
        made = wait_until(lambda: self.objects_for(backend, request), what="the slow create")
        order = impatient.create_order(request)

        assert [order.gateway_order_id] == made == self.objects_for(backend, request)

    @pytest.mark.parametrize("status", [400, 401, 404])
    def test_a_refused_request_is_permanent(
        self, backend: Backend, gateway: PaymentGateway, status: int
    ) -> None:
        self.fail_next(backend, "create_order", status)
        with pytest.raises(PermanentProviderError) as refused:
            gateway.create_order(self.request())
        assert refused.value.reason

    def test_refunds_a_captured_payment(self, backend: Backend, gateway: PaymentGateway) -> None:
        order = gateway.create_order(self.request())
        paid = self.pay(backend, order)

        refund = gateway.refund(self.refund(paid, 1000, str(uuid.uuid4())))

        assert re.fullmatch(self.refund_id_pattern, refund.gateway_refund_id)
        assert refund.status is ProviderRefundStatus.SUCCEEDED
        assert self.refunds_of(backend, paid) == [refund.gateway_refund_id]

    def test_reads_a_captured_payment_back_with_its_order_and_money(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        order = gateway.create_order(self.request())
        paid = self.pay(backend, order)

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
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        """Even once the provider has forgotten the idempotency key (Stripe: 24 hours)."""
        paid = self.pay(backend, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))
        first = gateway.refund(request)
        self.forget_idempotency_keys(backend)

        again = gateway.refund(request)

        assert again.gateway_refund_id == first.gateway_refund_id
        assert self.refunds_of(backend, paid) == [first.gateway_refund_id]

    def test_a_repeated_refund_refunds_once(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        paid = self.pay(backend, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))

        first = gateway.refund(request)
        again = gateway.refund(request)
        other = gateway.refund(self.refund(paid, 1000, str(uuid.uuid4())))

        assert again.gateway_refund_id == first.gateway_refund_id
        assert other.gateway_refund_id != first.gateway_refund_id
        assert sorted(self.refunds_of(backend, paid)) == sorted(
            [first.gateway_refund_id, other.gateway_refund_id]
        )

    def test_over_refund_is_permanent(self, backend: Backend, gateway: PaymentGateway) -> None:
        paid = self.pay(backend, gateway.create_order(self.request()))
        with pytest.raises(PermanentProviderError):
            gateway.refund(self.refund(paid, self.amount + 100, str(uuid.uuid4())))
        gateway.refund(self.refund(paid, self.amount - 1000, str(uuid.uuid4())))
        with pytest.raises(PermanentProviderError):
            gateway.refund(self.refund(paid, 1100, str(uuid.uuid4())))
        assert len(self.refunds_of(backend, paid)) == 1

    def test_a_refund_outage_is_transient_and_a_retry_refunds_once(
        self, backend: Backend, gateway: PaymentGateway
    ) -> None:
        paid = self.pay(backend, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))
        self.fail_next(backend, "refund", 503)

        with pytest.raises(TransientProviderError):
            gateway.refund(request)
        refund = gateway.refund(request)

        assert self.refunds_of(backend, paid) == [refund.gateway_refund_id]

    def test_cancel_is_safe_to_repeat(self, backend: Backend, gateway: PaymentGateway) -> None:
        order = gateway.create_order(self.request())

        gateway.cancel(order.gateway_order_id)
        gateway.cancel(order.gateway_order_id)

        self.assert_cancelled(backend, order)
