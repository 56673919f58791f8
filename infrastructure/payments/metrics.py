"""Provider call metrics, recorded by a decorator around any PaymentGateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prometheus_client import Counter

from application.ports import (
    EvidenceSink,
    PaymentGateway,
    PermanentProviderError,
    ProviderCaptureRequest,
    ProviderCharge,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
    TransientProviderError,
    evidencing,
)

PROVIDER_CALLS = Counter(
    "checkout_provider_calls_total",
    "Calls to payment providers by outcome: ok, transient, permanent or error",
    ["provider", "operation", "outcome"],
)

T = TypeVar("T")


class InstrumentedGateway:
    """Counts every call of the wrapped gateway by provider, operation and outcome."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner

    @property
    def provider(self) -> str:
        return self.inner.provider

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        """The wrapped gateway's evidencing view, still counted (adr/0016)."""
        view = evidencing(self.inner)
        return self if view is None else InstrumentedGateway(view.with_evidence(sink))

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        return self._counted("create_order", lambda: self.inner.create_order(request))

    def cancel(self, gateway_order_id: str) -> None:
        self._counted("cancel", lambda: self.inner.cancel(gateway_order_id))

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        return self._counted("refund", lambda: self.inner.refund(request))

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        return self._counted("charge", lambda: self.inner.charge(gateway_payment_id))

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        return self._counted("capture", lambda: self.inner.capture(request))

    def _counted(self, operation: str, call: Callable[[], T]) -> T:
        outcome = "error"
        try:
            result = call()
            outcome = "ok"
            return result
        except TransientProviderError:
            outcome = "transient"
            raise
        except PermanentProviderError:
            outcome = "permanent"
            raise
        finally:
            PROVIDER_CALLS.labels(self.provider, operation, outcome).inc()
