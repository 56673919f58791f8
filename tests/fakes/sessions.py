"""In-memory hosted checkout sessions behind the CheckoutSessions port, for application
tests: ``create`` answers the same session for the same payment and attempt (the adapter's
idempotency key), ``expire`` answers a closed session's final status, and
``with_evidence(sink)`` hands each ``expire``'s request and answer to ``sink`` as the
Stripe adapter does (adr/0016). ``pay`` plays the customer completing the hosted page."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from application.ports import (
    CheckoutSession,
    CheckoutSessionRequest,
    CheckoutSessions,
    Evidence,
    EvidenceSink,
    PermanentProviderError,
)
from domain import Provider


@dataclass
class FakeCheckoutSessions:
    provider: str = Provider.STRIPE.value
    statuses: dict[str, str] = field(default_factory=dict)  # session id: open, expired, complete
    _by_key: dict[str, CheckoutSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, request: CheckoutSessionRequest) -> CheckoutSession:
        key = f"{request.payment_id}:session:{request.attempt}"
        with self._lock:
            if key not in self._by_key:
                session_id = f"cs_test_{len(self._by_key) + 1:04d}"
                url = f"https://checkout.example/pay/{session_id}"
                self._by_key[key] = CheckoutSession(url, session_id, request.expires_at)
                self.statuses[session_id] = "open"
            return self._by_key[key]

    def expire(self, session_id: str) -> str:
        return self._expire(session_id, None)

    def _expire(self, session_id: str, sink: EvidenceSink | None) -> str:
        with self._lock:
            status = self.statuses.get(session_id)
            if status == "open":
                status = self.statuses[session_id] = "expired"
        error = None if status is not None else f"no such checkout session: {session_id}"
        if sink is not None:
            answer = None if status is None else {"id": session_id, "status": status}
            request = {"session": session_id}
            sink(
                Evidence.of_call(
                    self.provider, "expire_session", session_id, request, answer, error
                )
            )
        if status is None:
            raise PermanentProviderError(str(error))
        return status

    def pay(self, session_id: str) -> None:
        with self._lock:
            self.statuses[session_id] = "complete"

    def with_evidence(self, sink: EvidenceSink) -> CheckoutSessions:
        """A view sharing the sessions, handing one Evidence per ``expire`` to ``sink``."""
        return _EvidencedSessions(self, sink)


@dataclass(frozen=True)
class _EvidencedSessions:
    fake: FakeCheckoutSessions
    sink: EvidenceSink

    def create(self, request: CheckoutSessionRequest) -> CheckoutSession:
        return self.fake.create(request)

    def expire(self, session_id: str) -> str:
        return self.fake._expire(session_id, self.sink)

    def with_evidence(self, sink: EvidenceSink) -> CheckoutSessions:
        return _EvidencedSessions(self.fake, sink)
