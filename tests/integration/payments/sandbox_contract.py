"""The gateway contract as the SDK adapters run it: against the provider sandbox, with the
sandbox's fault controls standing in for a misbehaving provider."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from application.ports import PaymentGateway
from tests.integration.payments.contract import FaultyCall, GatewayContract
from tests.integration.payments.sandbox import ProviderSandbox
from tests.waiting import wait_until

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connections are refused


class SandboxGatewayContract(GatewayContract[ProviderSandbox]):
    create_path: ClassVar[str]  # where order creation is answered, for fault injection
    refund_path: ClassVar[str]

    @pytest.fixture
    def backend(self, sandbox: ProviderSandbox) -> ProviderSandbox:
        return sandbox

    @abstractmethod
    def make_gateway(
        self, backend: ProviderSandbox, timeout: float = 10.0, base: str | None = None
    ) -> PaymentGateway: ...

    def unreachable_gateway(self, backend: ProviderSandbox) -> PaymentGateway:
        return self.make_gateway(backend, base=UNREACHABLE)

    def gateway_timing_out_on_next_create(self, backend: ProviderSandbox) -> PaymentGateway:
        backend.fault(self.create_path, delay_seconds=1.0, method="POST")
        return self.make_gateway(backend, timeout=0.3)

    def fail_next(self, backend: ProviderSandbox, call: FaultyCall, status: int) -> None:
        backend.fault(self.create_path if call == "create_order" else self.refund_path, status)

    def forget_idempotency_keys(self, backend: ProviderSandbox) -> None:
        backend.forget_idempotency_keys()

    def test_a_refund_retried_while_the_first_call_is_in_flight_refunds_once(
        self, backend: ProviderSandbox
    ) -> None:
        """A worker killed mid-call: the call is still on its way when another worker,
        which took the task over, asks again. The look-up finds nothing yet."""
        gateway = self.make_gateway(backend)
        paid = self.pay(backend, gateway.create_order(self.request()))
        request = self.refund(paid, 1000, str(uuid.uuid4()))
        backend.fault(self.refund_path, delay_seconds=1.5, method="POST")
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(gateway.refund, request)
            # The provider has the first call (its one-shot fault is used up) and holds it.
            wait_until(lambda: not backend.faults_left(), timeout=10, what="the held call")
            retried = gateway.refund(request)
            first = in_flight.result(timeout=30)

        assert first.gateway_refund_id == retried.gateway_refund_id
        assert self.refunds_of(backend, paid) == [retried.gateway_refund_id]
