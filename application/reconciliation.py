"""Reconciliation: what each provider says happened, against what the engine recorded.

A run lists the provider's payments of a window (all pages, with their refunds) before it
changes anything: a listing that fails part-way repairs nothing (``PartialListing``).
Then, payment by payment:

- money captured at the provider that the engine missed (its webhook never came) is
  applied through the path a webhook takes (``PaymentOutcomes.succeeded``), if it is what
  the payment expects or another charge of an order already paid (refunded as extra);
  a capture of another amount is not applied: it waits for a person (``amount_mismatch``);
- an authorization the engine missed (manual capture) is applied as its webhook would be;
- a payment the engine counts as captured that the provider does not
  (``not_captured_at_provider``), a capture whose amount differs from the engine's, and a
  refund the engine completed that the provider does not list (``refund_only_here``)
  wait for a person;
- a refund only the provider knows is recorded as a dashboard refund (or as the outcome
  of the engine's own refund, when it carries the engine's tag);
- money on an object that carries the engine's metadata but is no engine payment is
  recorded as a foreign capture, for a person.

Every finding is ``Payment.DiscrepancyFound`` (actor ``system:reconciliation``) with what
was repaired, so it shows in the order's history and, when it waits for a person, in the
review queue. A finding is recorded once per kind and provider object: a rerun of the same
window finds it known. A repair is saved before its finding: a crash between the two
leaves the repair (its events name reconciliation) and a rerun finds nothing left to note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from application.application import CheckoutApplication
from application.captures import ForeignCaptureNotice, ForeignCaptures
from application.contention import with_retries
from application.payments import PaymentOutcomes
from application.ports import LedgerPayment, ProviderLedger
from application.refunds import Refunds
from domain import ForeignCapture, Payment, PaymentStatus, RefundStatus, actors
from domain.actors import Origin
from domain.payment import CAPTURED

log = structlog.get_logger(__name__)

REPAIRED_BY = Origin(actors.RECONCILIATION)


class PartialListing(Exception):
    """The provider's listing could not be completed: nothing was compared or repaired."""


@dataclass
class RunSummary:
    provider: str
    compared: int = 0
    discrepancies: Counter[str] = field(default_factory=Counter)
    repairs: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "compared": self.compared,
            "discrepancies": dict(self.discrepancies),
            "repairs": self.repairs,
        }


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    repair: str | None = None  # None: for a person
    object_id: str | None = None  # what it is about, when not the payment's charge (a refund)


# How the engine finds its payment for a provider object: by the provider order (Razorpay)
# or charge the engine stored, never by anything a customer could set.
FindPayment = Callable[[LedgerPayment], UUID | None]
# The engine's payments of a provider captured in a window, from a view.
EngineCaptured = Callable[[str, datetime, datetime], Sequence[UUID]]


class Reconciliation:
    def __init__(
        self,
        app: CheckoutApplication,
        payments: PaymentOutcomes,
        refunds: Refunds,
        foreign: ForeignCaptures,
        find_payment: FindPayment,
        engine_captured: EngineCaptured,
    ) -> None:
        self.app = app
        self.payments = payments
        self.refunds = refunds
        self.foreign = foreign
        self.find_payment = find_payment
        self.engine_captured = engine_captured

    def run(
        self, ledger: ProviderLedger, since: datetime, until: datetime, run_id: str
    ) -> RunSummary:
        """Compare the window; raises PartialListing (nothing repaired) if it cannot list."""
        try:
            listed = list(ledger.payments(since, until))
        except Exception as exc:
            raise PartialListing(f"{ledger.provider}: {exc}") from exc
        summary = RunSummary(ledger.provider)
        seen: set[UUID] = set()
        for entry in listed:
            summary.compared += 1
            payment_id = self._engine_payment(entry)
            if payment_id is None:
                self._unknown(ledger.provider, entry, summary)
                continue
            seen.add(payment_id)
            for finding in self._compare(payment_id, entry):
                self._note(payment_id, entry, finding, run_id, summary)
        for payment_id in self.engine_captured(ledger.provider, since, until):
            if payment_id not in seen:
                summary.compared += 1
                self._captured_here_only(ledger, payment_id, run_id, summary)
        return summary

    # -- matching --------------------------------------------------------------------------

    def _engine_payment(self, entry: LedgerPayment) -> UUID | None:
        if entry.engine_payment_id is not None:
            try:
                self.app.load(Payment, entry.engine_payment_id)
            except AggregateNotFoundError:
                return None
            return entry.engine_payment_id
        return self.find_payment(entry)

    def _unknown(self, provider: str, entry: LedgerPayment, summary: RunSummary) -> None:
        """Money on an object that is no engine payment: for a person, if it names us."""
        if not entry.captured or entry.engine_payment_id is None:
            return  # not ours, or nothing was taken
        outcome = self.foreign.record(
            ForeignCaptureNotice(
                provider=provider,
                gateway_payment_id=entry.gateway_payment_id,
                gateway_order_id=entry.gateway_order_id,
                amount=entry.amount,
                currency=entry.currency,
                claimed_payment_id=str(entry.engine_payment_id),
                detail="found by reconciliation: carries the engine's metadata, "
                "names no engine payment",
            )
        )
        if outcome.changed:
            summary.discrepancies["unknown_with_our_metadata"] += 1

    # -- comparing -------------------------------------------------------------------------

    def _compare(self, payment_id: UUID, entry: LedgerPayment) -> list[Finding]:
        payment = self.app.load(Payment, payment_id)
        gid = entry.gateway_payment_id
        findings: list[Finding] = []
        if entry.captured:
            findings += self._capture(payment, entry)
            payment = self.app.load(Payment, payment_id)  # as the repair left it
            findings += self._refunds(payment, entry)
        elif entry.authorized and payment.status in (
            PaymentStatus.PROCESSING,
            PaymentStatus.PENDING,
            PaymentStatus.FAILED,
        ):
            outcome = self.payments.authorized(
                payment_id, gid, entry.amount, entry.currency, REPAIRED_BY
            )
            if outcome.changed:
                findings.append(
                    Finding(
                        "missed_authorization",
                        f"{gid} holds {entry.amount} {entry.currency} at the provider",
                        "recorded the authorization, as its webhook would have",
                    )
                )
        elif payment.is_captured and payment.gateway_payment_id == gid:
            findings.append(
                Finding(
                    "not_captured_at_provider",
                    f"the engine counts {gid} as captured; the provider says {entry.status}",
                )
            )
        return findings

    def _capture(self, payment: Payment, entry: LedgerPayment) -> list[Finding]:
        gid, amount, currency = entry.gateway_payment_id, entry.amount, entry.currency.upper()
        if payment.owns_charge(gid):
            own = gid == payment.gateway_payment_id and payment.status in CAPTURED
            if own and (amount, currency) != (payment.captured_amount, payment.currency):
                return [
                    Finding(
                        "amount_mismatch",
                        f"{gid}: the provider captured {amount} {currency}, the engine "
                        f"recorded {payment.captured_amount} {payment.currency}",
                    )
                ]
            return []
        expected = payment.expected_capture
        matches = (amount, currency) == (expected, payment.currency)
        if not matches and not payment.is_captured:
            return [
                Finding(
                    "amount_mismatch",
                    f"{gid}: the provider captured {amount} {currency}, the payment expects "
                    f"{expected} {payment.currency}",
                )
            ]
        outcome = self.payments.succeeded(payment.id, gid, amount, currency, None, REPAIRED_BY)
        if not outcome.changed:
            return []
        if outcome.extra is not None:
            repair = f"recorded as an extra charge and refunded ({outcome.extra})"
        elif outcome.refund_requested is not None:
            repair = f"recorded; the order had ended, refund {outcome.refund_requested} asked"
        else:
            repair = "recorded the capture, as its webhook would have"
        return [Finding("missed_capture", f"{gid} captured {amount} {currency}", repair)]

    def _refunds(self, payment: Payment, entry: LedgerPayment) -> list[Finding]:
        gid = entry.gateway_payment_id
        if not payment.owns_charge(gid):
            return []
        findings: list[Finding] = []
        listed = {r.gateway_refund_id for r in entry.refunds}
        for refund in entry.refunds:
            if refund.status != RefundStatus.SUCCEEDED or payment.knows_refund(
                refund.gateway_refund_id
            ):
                continue
            own = refund.engine_refund_id and refund.engine_refund_id in payment.refunds
            if own:
                assert refund.engine_refund_id is not None
                self.refunds.succeeded(
                    payment.id, refund.engine_refund_id, refund.gateway_refund_id, REPAIRED_BY
                )
                repair = "recorded the engine's refund as completed, as its webhook would have"
            else:
                self.refunds.external(
                    payment.id,
                    refund.gateway_refund_id,
                    refund.amount,
                    gid,
                    origin=REPAIRED_BY,
                )
                repair = "recorded as a refund made at the provider"
            findings.append(
                Finding(
                    "refund_only_at_provider",
                    f"refund {refund.gateway_refund_id} of {refund.amount} on {gid}",
                    repair,
                    refund.gateway_refund_id,
                )
            )
        for refund_id, mine in payment.refunds.items():
            charge = mine["charge"] or payment.gateway_payment_id
            gateway_refund_id = mine["gateway_refund_id"]
            if (
                charge == gid
                and mine["status"] == RefundStatus.SUCCEEDED
                and gateway_refund_id is not None
                and gateway_refund_id not in listed
            ):
                findings.append(
                    Finding(
                        "refund_only_here",
                        f"refund {refund_id} ({gateway_refund_id}) completed here, "
                        f"the provider lists no such refund of {gid}",
                        object_id=gateway_refund_id,
                    )
                )
        return findings

    def _captured_here_only(
        self, ledger: ProviderLedger, payment_id: UUID, run_id: str, summary: RunSummary
    ) -> None:
        """A payment the engine counts as captured that the listing did not show."""
        payment = self.app.load(Payment, payment_id)
        gid = payment.gateway_payment_id
        if gid is None or payment.out_of_band:
            return  # nothing at the provider to compare (paid outside it: adr/0029)
        found = ledger.payment(gid)
        if found is not None and found.captured:
            return  # made just outside the window
        said = "does not know it" if found is None else f"says {found.status}"
        finding = Finding(
            "not_captured_at_provider",
            f"the engine counts {gid} as captured; the provider {said}",
        )
        entry = found or LedgerPayment(
            gid, payment.gateway_order_id, payment_id, 0, "", "", False, False
        )
        self._note(payment_id, entry, finding, run_id, summary)

    # -- recording -------------------------------------------------------------------------

    def _note(
        self,
        payment_id: UUID,
        entry: LedgerPayment,
        finding: Finding,
        run_id: str,
        summary: RunSummary,
    ) -> None:
        discrepancy_id = f"{finding.kind}:{finding.object_id or entry.gateway_payment_id}"

        def attempt() -> bool:
            payment = self.app.load(Payment, payment_id)
            noted = payment.note_discrepancy(
                discrepancy_id,
                finding.kind,
                finding.detail,
                run_id,
                gateway_payment_id=entry.gateway_payment_id,
                provider_amount=entry.amount if entry.currency else None,
                provider_currency=entry.currency or None,
                repair=finding.repair,
            )
            if noted:
                self.app.save(payment)
            return noted

        if with_retries(attempt):
            summary.discrepancies[finding.kind] += 1
            if finding.repair is not None:
                summary.repairs += 1
            log.info(
                "reconciliation discrepancy",
                kind=finding.kind,
                payment=str(payment_id),
                detail=finding.detail,
                repair=finding.repair,
            )


class Resolutions:
    """A person's decision on what reconciliation (or a foreign capture) left for them."""

    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def discrepancy(self, payment_id: UUID, discrepancy_id: str, actor: str, reason: str) -> int:
        """Resolve it; InvalidTransition (409) if it is not open. Answers the log position."""

        def attempt() -> int:
            payment = self.app.load(Payment, payment_id)
            payment.resolve_discrepancy(discrepancy_id, actor, reason)
            return self.app.save(payment)[-1].notification.id

        return with_retries(attempt)

    def foreign_capture(
        self, provider: str, gateway_payment_id: str, actor: str, reason: str
    ) -> int:
        def attempt() -> int:
            capture = self.app.load(
                ForeignCapture, ForeignCapture.id_for(provider, gateway_payment_id)
            )
            capture.resolve(actor, reason)
            return self.app.save(capture)[-1].notification.id

        return with_retries(attempt)
