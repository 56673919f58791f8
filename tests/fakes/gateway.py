"""An in-memory payment provider behind the PaymentGateway port, for application tests.

It keeps what a provider keeps (the objects customers pay, their captured charges and the
refunds against them) and answers the port's calls the way the Stripe and Razorpay adapters
do: a repeated ``create_order`` or ``refund`` answers with what the first call made, a
refund never exceeds what is left of the charge, and every refusal is a typed
ProviderError. The gateway contract (tests/integration/payments/contract.py) runs against
it, as against the adapters, so the two cannot drift apart (STYLE.md convention 5).

Two flavours, because the engine treats the providers differently:

- ``stripe``: the object is a PaymentIntent; paying it captures the intent itself (its id
  is the gateway payment id), and a paid intent cannot be cancelled.
- ``razorpay``: the object is an order; each payment of it is a charge with its own id,
  and an order cannot be cancelled at all (``cancel`` is a no-op, as in the adapter).

Tests play the provider's side with ``pay`` (the customer pays), ``fail_next`` (the next
call is refused or fails transiently), ``lose_next_answer`` (the provider acts but the
answer never arrives: a timeout) and ``reachable``.

Like the adapters, ``with_evidence(sink)`` gives a view that hands each call's request and
answer (or refusal) to ``sink`` as ``Evidence`` (adr/0016).
"""

from __future__ import annotations

import dataclasses
import secrets
import string
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar
from uuid import UUID

from application.ports import (
    Evidence,
    EvidenceSink,
    PaymentGateway,
    PermanentProviderError,
    ProviderCaptureRequest,
    ProviderCharge,
    ProviderError,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
    ProviderRefundStatus,
    TransientProviderError,
)
from domain import Currency, DomainError, Provider

GatewayCall = Literal["create_order", "cancel", "refund", "charge", "capture"]
T = TypeVar("T")

OPEN = "open"
PAID = "paid"
CANCELED = "canceled"
RAZORPAY_KEY_ID = "rzp_test_FakeGateway01"
_ALPHANUMERIC = string.ascii_letters + string.digits


def _provider_id(prefix: str, length: int) -> str:
    """Ids shaped like the provider's own (``pi_`` + 24, ``order_`` + 14, ...)."""
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


@dataclass
class PayableObject:
    """What the customer pays: a PaymentIntent (stripe) or an order (razorpay)."""

    id: str
    payment_id: UUID
    order_id: UUID
    amount: int
    currency: str
    answer: ProviderOrder
    status: str = OPEN


@dataclass
class CapturedCharge:
    id: str
    gateway_order_id: str
    amount: int
    currency: str
    refunded: int = 0  # refunds that succeeded or are pending hold their amount


@dataclass
class RecordedRefund:
    gateway_refund_id: str
    refund_id: str
    charge_id: str
    amount: int
    status: ProviderRefundStatus


@dataclass
class _Fault:
    error: ProviderError
    after_acting: bool  # the provider did the work; only its answer is lost


@dataclass(eq=False)
class FakeGateway:
    """One provider account, in memory; ``calls`` lists every call the port received."""

    name: str = Provider.STRIPE.value
    refund_status: ProviderRefundStatus = ProviderRefundStatus.SUCCEEDED
    reachable: bool = True
    calls: list[tuple[GatewayCall, object]] = field(default_factory=list)
    objects: dict[str, PayableObject] = field(default_factory=dict)
    charges: dict[str, CapturedCharge] = field(default_factory=dict)
    refunds: dict[str, RecordedRefund] = field(default_factory=dict)
    _faults: defaultdict[GatewayCall, deque[_Fault]] = field(
        default_factory=lambda: defaultdict(deque), repr=False
    )
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.name = Provider.of(self.name).value

    @property
    def provider(self) -> str:
        return self.name

    @property
    def pays_intents(self) -> bool:
        """Stripe captures the intent itself; Razorpay captures payments of an order."""
        return self.name == Provider.STRIPE.value

    # -- the port ------------------------------------------------------------------------

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        return self._call("create_order", request, lambda: self._create_order(request))

    def cancel(self, gateway_order_id: str) -> None:
        self._call("cancel", gateway_order_id, lambda: self._cancel(gateway_order_id))

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        return self._call("refund", request, lambda: self._refund(request))

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        return self._call("charge", gateway_payment_id, lambda: self._charge(gateway_payment_id))

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        return self._call("capture", request, lambda: self._capture(request))

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        return EvidencedFakeGateway(self, sink)

    # -- the provider's side, played by tests -----------------------------------------------

    def fail_next(self, call: GatewayCall, error: ProviderError) -> None:
        """The next ``call`` raises ``error`` and changes nothing at the provider."""
        with self._lock:
            self._faults[call].append(_Fault(error, after_acting=False))

    def lose_next_answer(self, call: GatewayCall) -> None:
        """The next ``call`` does its work, then times out: the caller never hears of it."""
        with self._lock:
            error = TransientProviderError(f"{self.name} timed out")
            self._faults[call].append(_Fault(error, after_acting=True))

    def pay(self, gateway_order_id: str) -> str:
        """The customer pays the object in full; returns the gateway payment id to refund."""
        with self._lock:
            payable = self.objects[gateway_order_id]
            if self.pays_intents and payable.status != OPEN:
                raise ValueError(f"intent {payable.id} is {payable.status}: it cannot be paid")
            charge_id = payable.id if self.pays_intents else _provider_id("pay_", 14)
            payable.status = PAID
            self.charges[charge_id] = CapturedCharge(
                charge_id, payable.id, payable.amount, payable.currency
            )
            return charge_id

    def objects_for(self, payment_id: UUID) -> list[str]:
        with self._lock:
            return [o.id for o in self.objects.values() if o.payment_id == payment_id]

    def refunds_of(self, charge_id: str) -> list[str]:
        with self._lock:
            return [r.gateway_refund_id for r in self.refunds.values() if r.charge_id == charge_id]

    def calls_of(self, call: GatewayCall) -> list[object]:
        with self._lock:
            return [argument for name, argument in self.calls if name == call]

    # -- what the provider does -----------------------------------------------------------

    def _call(
        self,
        call: GatewayCall,
        argument: object,
        act: Callable[[], T],
        sink: EvidenceSink | None = None,
    ) -> T:
        with self._lock:
            try:
                answer = self._answer(call, argument, act)
            except ProviderError as exc:
                if sink is not None:
                    sink(_evidence(self.name, call, argument, None, exc.reason))
                raise
            if sink is not None:
                sink(_evidence(self.name, call, argument, answer, None))
            return answer

    def _answer(self, call: GatewayCall, argument: object, act: Callable[[], T]) -> T:
        self.calls.append((call, argument))
        if not self.reachable:
            raise TransientProviderError(f"{self.name} unreachable")
        fault = self._faults[call].popleft() if self._faults[call] else None
        if fault is not None and not fault.after_acting:
            raise fault.error
        answer = act()
        if fault is not None:
            raise fault.error
        return answer

    def _create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        for payable in self.objects.values():
            if payable.payment_id == request.payment_id:
                return payable.answer  # the idempotency key (stripe), the receipt (razorpay)
        currency = _currency(request.currency)
        if type(request.amount) is not int or request.amount < 1:
            raise PermanentProviderError(f"amount must be a positive int, got {request.amount}")
        if self.pays_intents:
            object_id = _provider_id("pi_", 24)
            secret = f"{object_id}_secret_{_provider_id('', 24)}"
            answer = ProviderOrder(object_id, gateway_payment_id=object_id, client_secret=secret)
        else:
            object_id = _provider_id("order_", 14)
            answer = ProviderOrder(object_id, key_id=RAZORPAY_KEY_ID)
        self.objects[object_id] = PayableObject(
            object_id, request.payment_id, request.order_id, request.amount, currency, answer
        )
        return answer

    def _cancel(self, gateway_order_id: str) -> None:
        if not self.pays_intents:
            return  # Razorpay has no API to cancel an order
        payable = self.objects.get(gateway_order_id)
        if payable is None:
            raise PermanentProviderError(f"no such payment intent: {gateway_order_id}")
        if payable.status == PAID:
            raise PermanentProviderError(
                f"payment intent {gateway_order_id} is succeeded: it cannot be cancelled"
            )
        payable.status = CANCELED

    def _refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        charge = self.charges.get(request.gateway_payment_id)
        if charge is None:
            raise PermanentProviderError(f"no captured payment {request.gateway_payment_id}")
        for refund in self.refunds.values():
            if (refund.charge_id, refund.refund_id) == (charge.id, request.refund_id):
                return ProviderRefund(refund.gateway_refund_id, refund.status)
        if _currency(request.currency) != charge.currency:
            raise PermanentProviderError(
                f"refund in {request.currency} of a charge in {charge.currency}"
            )
        left = charge.amount - charge.refunded
        if type(request.amount) is not int or not 1 <= request.amount <= left:
            raise PermanentProviderError(
                f"refund of {request.amount} exceeds the {left} left on {charge.id}"
            )
        prefix, length = ("re_", 24) if self.pays_intents else ("rfnd_", 14)
        refund = RecordedRefund(
            _provider_id(prefix, length),
            request.refund_id,
            charge.id,
            request.amount,
            self.refund_status,
        )
        self.refunds[refund.gateway_refund_id] = refund
        if refund.status is not ProviderRefundStatus.FAILED:
            charge.refunded += refund.amount
        return ProviderRefund(refund.gateway_refund_id, refund.status)

    def _capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        """An authorization the tests made captures what is asked (once: a repeat answers
        the first capture)."""
        charge = self.charges.get(request.gateway_payment_id)
        if charge is None:
            charge = CapturedCharge(
                request.gateway_payment_id,
                request.gateway_payment_id,
                request.amount,
                request.currency.upper(),
            )
            self.charges[request.gateway_payment_id] = charge
        status = "succeeded" if self.pays_intents else "captured"
        return ProviderCharge(
            charge.id, charge.gateway_order_id, charge.amount, charge.currency, status, True
        )

    def _charge(self, gateway_payment_id: str) -> ProviderCharge:
        charge = self.charges.get(gateway_payment_id)
        if charge is not None:
            status = "succeeded" if self.pays_intents else "captured"
            return ProviderCharge(
                charge.id, charge.gateway_order_id, charge.amount, charge.currency, status, True
            )
        payable = self.objects.get(gateway_payment_id) if self.pays_intents else None
        if payable is None:
            raise PermanentProviderError(f"no such payment: {gateway_payment_id}")
        status = "canceled" if payable.status == CANCELED else "requires_payment_method"
        return ProviderCharge(
            payable.id, payable.id, payable.amount, payable.currency, status, False
        )


def _currency(code: str) -> str:
    try:
        return Currency.of(code).code
    except DomainError as exc:
        raise PermanentProviderError(str(exc)) from None


@dataclass(frozen=True)
class EvidencedFakeGateway:
    """The fake, handing the evidence of every call to ``sink``: what the adapters'
    ``with_evidence`` views do with the provider's raw JSON."""

    fake: FakeGateway
    sink: EvidenceSink

    @property
    def provider(self) -> str:
        return self.fake.provider

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        act = partial(self.fake._create_order, request)
        return self.fake._call("create_order", request, act, self.sink)

    def cancel(self, gateway_order_id: str) -> None:
        act = partial(self.fake._cancel, gateway_order_id)
        self.fake._call("cancel", gateway_order_id, act, self.sink)

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        return self.fake._call("refund", request, partial(self.fake._refund, request), self.sink)

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        act = partial(self.fake._charge, gateway_payment_id)
        return self.fake._call("charge", gateway_payment_id, act, self.sink)

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        act = partial(self.fake._capture, request)
        return self.fake._call("capture", request, act, self.sink)

    def with_evidence(self, sink: EvidenceSink) -> PaymentGateway:
        return EvidencedFakeGateway(self.fake, sink)


def _plain(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: str(v) if isinstance(v, UUID) else v for name, v in vars(value).items()}
    return {"id": value}


def _evidence(
    provider: str, call: GatewayCall, argument: object, answer: object, error: str | None
) -> Evidence:
    if isinstance(answer, ProviderOrder):
        object_id: str | None = answer.gateway_order_id
    elif isinstance(answer, ProviderRefund):
        object_id = answer.gateway_refund_id
    else:
        object_id = argument if isinstance(argument, str) else None
    request = _plain(argument) or {}
    return Evidence.of_call(provider, call, object_id, request, _plain(answer), error)
