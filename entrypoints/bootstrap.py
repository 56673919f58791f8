"""The composition root (adr/0014): the only place that builds the Application, the gateways
and the background loops. Everything is built from settings on first use, and what a test
fakes (gateways, hosted checkout sessions, a clock, an in-memory event store) is passed in,
as cosmicpython's ``bootstrap()`` takes it. Nothing connects at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.cancellations import CustomerCancellations
from application.captures import ForeignCaptures
from application.catalog import Catalog
from application.checkout import CapturePolicy, Checkout
from application.checkout_sessions import HostedCheckout
from application.disputes import Disputes
from application.group_commit import CheckoutWriter
from application.manual_captures import ManualCaptures
from application.marks import OrderMarks
from application.orders import OrderLifecycle
from application.payment_proofs import PaymentProofs
from application.payments import PaymentOutcomes
from application.ports import (
    CheckoutSessions,
    Clock,
    LedgerPayment,
    PaymentGateway,
    PaymentProofSignatures,
    ProviderLedger,
    SystemClock,
)
from application.provider_calls import ProviderCalls
from application.reconciliation import Reconciliation, Resolutions
from application.refunds import Refunds
from domain import Provider
from entrypoints.roles import NamedLoop
from infrastructure.database import DatabaseAddress, schema_lock
from infrastructure.settings import Settings
from infrastructure.transcoder import TRANSCODER_TOPIC
from infrastructure.webhooks.applier import RetryPolicy
from infrastructure.worker.executor import ExecutorSettings
from infrastructure.worker.retention import RetentionPolicy
from projections import ALL_PROJECTIONS, migrations
from projections.follower import Follower
from projections.queries import OrderQueries, PaymentQueries, ProductQueries, ReviewQueries
from projections.runner import ProjectionRunner, SharedFollower
from projections.stock_movements import StockMovements
from projections.tracking import PositionReader

if TYPE_CHECKING:  # the SDKs and the Kafka client load when first needed, not at import
    from stripe import StripeClient

    from infrastructure.audit.anchors import AnchorPolicy
    from infrastructure.audit.chain import AuditChain
    from infrastructure.audit.export import AuditExport
    from infrastructure.audit.history import OrderHistories
    from infrastructure.evidence import EvidenceStore
    from infrastructure.payments.keepalive import KeepAliveClient
    from infrastructure.readiness import Check
    from infrastructure.reconciliation import ReconciliationJob
    from infrastructure.relay import OutboxRelay, RelayOptions, RelayStep, RelayTopics
    from infrastructure.webhooks.applier import WebhookApplier
    from infrastructure.webhooks.inbox import WebhookInbox
    from infrastructure.webhooks.parked import InboxOperations
    from infrastructure.webhooks.reception import WebhookReception
    from infrastructure.worker.tasks import TaskQueue

log = structlog.get_logger(__name__)

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo", "TRANSCODER_TOPIC": TRANSCODER_TOPIC}


def build_application(
    database_url: str | None = None, *, pool_size: int = 10
) -> CheckoutApplication:
    """The engine's Application: on PostgreSQL at ``database_url``, or in memory when None.

    Creating the events tables takes the schema lock, so processes starting together on an
    empty database do not race to create them.
    """
    if database_url is None:
        return CheckoutApplication(env=IN_MEMORY)
    address = DatabaseAddress.parse(database_url)
    with schema_lock(address):
        return CheckoutApplication(env=address.eventsourcing_env(pool_size=pool_size))


def build_db(database_url: str, *, pool_size: int = 10) -> Engine:
    """The SQLAlchemy engine on ``database_url``: read models, task queue, webhook inbox."""
    return DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=pool_size)


@dataclass(frozen=True)
class Services:
    """Where the running services are, after embedded ones have been started."""

    database_url: str
    bootstrap_servers: str
    jwt_secret: str

    @classmethod
    def from_settings(cls, settings: Settings, *, jwt: bool = True) -> Services:
        settings.require_services(jwt=jwt)
        assert settings.database_url
        assert settings.kafka_bootstrap_servers
        return cls(
            settings.database_url,
            settings.kafka_bootstrap_servers,
            settings.checkout_jwt_secret or "",
        )


@dataclass(frozen=True)
class WorkerOptions:
    executors: int = 4
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    reaper_interval_seconds: float = 5.0
    inbox_interval_seconds: float = 1.0
    inbox_retry: RetryPolicy = field(default_factory=RetryPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


class Container:
    """One process's object graph, each part built from the settings on first use.

    ``gateways``, ``checkout_sessions`` and ``clock`` replace what the settings would give;
    ``in_memory`` keeps the events in this process (eventsourcing's POPO store) instead of
    PostgreSQL. ``close`` releases only what the container built.
    """

    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        clock: Clock | None = None,
        gateways: Mapping[str, PaymentGateway] | None = None,
        checkout_sessions: CheckoutSessions | None = None,
        in_memory: bool = False,
        pool_size: int = 10,
    ) -> None:
        self.settings = settings
        self.services = services
        self.clock: Clock = clock or SystemClock()
        self.pool_size = pool_size
        self._gateways = gateways
        self._checkout_sessions = checkout_sessions
        self._in_memory = in_memory
        self._db: Engine | None = None
        self._closers: list[Callable[[], None]] = []

    # -- the stores ---------------------------------------------------------------------

    @property
    def database(self) -> DatabaseAddress:
        return DatabaseAddress.parse(self.services.database_url)

    @property
    def db(self) -> Engine:
        if self._db is None:
            self._db = build_db(self.services.database_url, pool_size=self.pool_size)
        return self._db

    @cached_property
    def app(self) -> CheckoutApplication:
        url = None if self._in_memory else self.services.database_url
        app = build_application(url, pool_size=self.pool_size)
        self._closers.append(app.close)
        return app

    def upgrade_database(self) -> str:
        """Every engine table at the newest revision (adr/0012); each role runs it at start."""
        return migrations.upgrade_database(self.db)

    # -- the use cases ------------------------------------------------------------------

    @cached_property
    def checkout(self) -> Checkout:
        ttl = timedelta(seconds=self.settings.payment_ttl_seconds)
        return Checkout(self.app, self.clock, ttl, capture_policy=self.capture_policy)

    @cached_property
    def checkout_writer(self) -> CheckoutWriter:
        """The API's group commit of checkouts (adr/0019); closed before the application."""
        from eventsourcing.postgres import PostgresApplicationRecorder

        from infrastructure.event_tail import PostgresEventTail
        from infrastructure.observability import CHECKOUT_BATCH, CHECKOUT_BATCH_CONFLICTS

        recorder = self.app.recorder
        tail = None
        if isinstance(recorder, PostgresApplicationRecorder):
            address = DatabaseAddress.parse(self.services.database_url)
            tail = PostgresEventTail(recorder, address.conninfo)
            self._closers.append(tail.close)
        ttl = timedelta(seconds=self.settings.payment_ttl_seconds)
        writer = CheckoutWriter(
            self.app,
            self.clock,
            ttl,
            tail,
            on_batch=CHECKOUT_BATCH.observe,
            on_conflict=CHECKOUT_BATCH_CONFLICTS.inc,
            capture_policy=self.capture_policy,
        )
        self._closers.append(writer.close)
        return writer

    @cached_property
    def capture_policy(self) -> CapturePolicy:
        """Which checkouts are captured by hand when they do not say (adr/0027)."""

        def listed(value: str) -> frozenset[str]:
            return frozenset(item.strip() for item in value.split(",") if item.strip())

        return CapturePolicy(
            manual_vendors=listed(self.settings.manual_capture_vendors),
            manual_skus=listed(self.settings.manual_capture_skus),
        )

    @cached_property
    def orders(self) -> OrderLifecycle:
        return OrderLifecycle(self.app)

    @cached_property
    def payments(self) -> PaymentOutcomes:
        return PaymentOutcomes(self.app, self.clock)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.app)

    @cached_property
    def refunds(self) -> Refunds:
        return Refunds(self.app)

    @cached_property
    def manual_captures(self) -> ManualCaptures:
        return ManualCaptures(self.app)

    @cached_property
    def marks(self) -> OrderMarks:
        return OrderMarks(self.app)

    @cached_property
    def hosted_checkout(self) -> HostedCheckout:
        return HostedCheckout(self.app, self.checkout_sessions, self.clock)

    @cached_property
    def payment_proofs(self) -> PaymentProofs:
        razorpay = self.gateways.get(Provider.RAZORPAY.value)
        return PaymentProofs(self.app, self.payment_proof_signatures, razorpay)

    @cached_property
    def cancellations(self) -> CustomerCancellations:
        return CustomerCancellations(self.app)

    @cached_property
    def provider_calls(self) -> ProviderCalls:
        return ProviderCalls(
            self.app,
            self.gateways,
            self.checkout_sessions,
            payments=self.payments,
            refunds=self.refunds,
            evidence=self.evidence,
        )

    @property
    def evidence(self) -> EvidenceStore | None:
        """Where provider calls and webhook bodies are kept (adr/0016); None in memory,
        where there is no database to keep them in (events still carry the digests)."""
        return None if self._in_memory else self.evidence_store

    @cached_property
    def evidence_store(self) -> EvidenceStore:
        from infrastructure.evidence import EvidenceStore

        return EvidenceStore(self.db)

    # -- the providers ------------------------------------------------------------------

    @cached_property
    def gateways(self) -> dict[str, PaymentGateway]:
        """Payment providers with credentials in the settings (possibly none), instrumented.

        The SDKs load here, when a role first needs a gateway, never at import.
        """
        if self._gateways is not None:
            return dict(self._gateways)
        from infrastructure.payments.lean_http import LeanCreates, pooled_client
        from infrastructure.payments.metrics import InstrumentedGateway
        from infrastructure.payments.razorpay.client import RazorpayGateway, razorpay_client
        from infrastructure.payments.razorpay.orders import RazorpayOrders
        from infrastructure.payments.stripe.client import API_VERSION, StripeGateway
        from infrastructure.payments.stripe.intents import StripeIntents

        settings = self.settings
        gateways: dict[str, PaymentGateway] = {}
        # Creates, one per checkout, go over a lean pooled HTTP client; the SDKs make the
        # rarer calls (adr/0023).
        if settings.stripe_secret_key:
            http = self._pooled_http(pooled_client)
            intents = StripeIntents(
                http, settings.stripe_secret_key, API_VERSION, settings.stripe_api_base
            )
            stripe = LeanCreates(StripeGateway(self._stripe_client()), intents)
            gateways[Provider.STRIPE.value] = InstrumentedGateway(stripe)
        if settings.razorpay_key_id and settings.razorpay_key_secret:
            key_id, secret = settings.razorpay_key_id, settings.razorpay_key_secret
            client = razorpay_client(key_id, secret, settings.razorpay_api_base)
            orders = RazorpayOrders(
                self._pooled_http(pooled_client), key_id, secret, settings.razorpay_api_base
            )
            razorpay = LeanCreates(RazorpayGateway(client, key_id), orders)
            gateways[Provider.RAZORPAY.value] = InstrumentedGateway(razorpay)
        return gateways

    @cached_property
    def ledgers(self) -> dict[str, ProviderLedger]:
        """What each configured provider lists, for reconciliation (adr/0028)."""
        from infrastructure.payments.razorpay.client import RazorpayLedger, razorpay_client
        from infrastructure.payments.stripe.client import StripeLedger

        settings = self.settings
        ledgers: dict[str, ProviderLedger] = {}
        if settings.stripe_secret_key:
            ledgers[Provider.STRIPE.value] = StripeLedger(self._stripe_client())
        if settings.razorpay_key_id and settings.razorpay_key_secret:
            client = razorpay_client(
                settings.razorpay_key_id, settings.razorpay_key_secret, settings.razorpay_api_base
            )
            ledgers[Provider.RAZORPAY.value] = RazorpayLedger(client)
        return ledgers

    @cached_property
    def reconciliation_job(self) -> ReconciliationJob:
        from infrastructure.reconciliation import ReconciliationJob
        from infrastructure.webhooks.directory import PaymentStatusDirectory

        directory = PaymentStatusDirectory(self.db)

        def find_payment(entry: LedgerPayment) -> UUID | None:
            # By what the engine stored: its Razorpay order, or the charge it recorded.
            if entry.gateway_order_id is not None:
                found = directory.payment_for_gateway_order(entry.gateway_order_id)
                if found is not None:
                    return found
            return directory.payment_for_charge(entry.gateway_payment_id)

        reconciliation = Reconciliation(
            self.app,
            self.payments,
            self.refunds,
            ForeignCaptures(self.app),
            find_payment,
            self.order_queries.captured_payments,
        )
        return ReconciliationJob(self.db, reconciliation, self.ledgers, self.clock)

    @cached_property
    def resolutions(self) -> Resolutions:
        return Resolutions(self.app)

    def reconciliation_runs(self) -> Sequence[Mapping[str, Any]]:
        from infrastructure.reconciliation import recent_runs

        return recent_runs(self.db)

    def _pooled_http(self, make: Callable[[], KeepAliveClient]) -> KeepAliveClient:
        http = make()
        self._closers.append(http.close)
        return http

    @cached_property
    def checkout_sessions(self) -> CheckoutSessions | None:
        """Stripe's hosted Checkout; None when Stripe is not configured."""
        if self._checkout_sessions is not None:
            return self._checkout_sessions
        if not self.settings.stripe_secret_key:
            return None
        from infrastructure.payments.stripe.client import StripeCheckoutSessions

        return StripeCheckoutSessions(self._stripe_client())

    def _stripe_client(self) -> StripeClient:
        """A client of its own for each user, as each thread pool keeps its connections."""
        from infrastructure.payments.stripe.client import stripe_client

        assert self.settings.stripe_secret_key
        return stripe_client(self.settings.stripe_secret_key, self.settings.stripe_api_base)

    @cached_property
    def payment_proof_signatures(self) -> PaymentProofSignatures | None:
        """Razorpay's checkout.js signatures; None when RAZORPAY_KEY_SECRET is not set."""
        from infrastructure.payments.razorpay.client import RazorpayPaymentProofSignatures

        secret = self.settings.razorpay_key_secret
        return RazorpayPaymentProofSignatures(secret) if secret else None

    # -- webhooks -----------------------------------------------------------------------

    @cached_property
    def webhook_inbox(self) -> WebhookInbox:
        from infrastructure.webhooks.inbox import WebhookInbox

        return WebhookInbox(self.db, self.settings.webhook_lease_seconds)

    def webhook_applier(self, retry: RetryPolicy | None = None) -> WebhookApplier:
        """Applies inbox rows through their provider's dispatch table."""
        from infrastructure.webhooks.applier import WebhookApplier
        from infrastructure.webhooks.directory import PaymentStatusDirectory
        from infrastructure.webhooks.events import WebhookEffects

        effects = WebhookEffects(
            app=self.app,
            payments=self.payments,
            refunds=self.refunds,
            directory=PaymentStatusDirectory(self.db),
            captures=ForeignCaptures(self.app),
            disputes=Disputes(self.app),
        )
        return WebhookApplier(self.webhook_inbox, effects, retry=retry, evidence=self.evidence)

    @cached_property
    def webhooks(self) -> WebhookReception:
        """The API's reception: verifies, records and applies webhooks. The inbox table is
        the migrations' (the api role upgrades the database when it starts), never made
        inside a request."""
        from infrastructure.payments.stripe.client import WEBHOOK_TOLERANCE_SECONDS
        from infrastructure.webhooks.reception import (
            WebhookReception,
            razorpay_intake,
            stripe_intake,
        )

        intakes = [
            stripe_intake(self.settings.stripe_webhook_secret, WEBHOOK_TOLERANCE_SECONDS),
            razorpay_intake(self.settings.razorpay_webhook_secret),
        ]
        return WebhookReception(
            self.webhook_inbox,
            self.webhook_applier(),
            {intake.provider: intake for intake in intakes},
        )

    @cached_property
    def parked_webhooks(self) -> InboxOperations:
        """Operators list, replay and dismiss inbox rows (adr/0025); a replay goes through
        the reception's own applier, so it applies a row exactly as a delivery would."""
        from infrastructure.webhooks.parked import InboxOperations

        return InboxOperations(self.db, self.webhooks.applier, self.settings.webhook_lease_seconds)

    # -- the read side ------------------------------------------------------------------

    @cached_property
    def metrics(self) -> CollectorRegistry:
        """Metrics computed from the database when scraped (not this process's counters)."""
        from infrastructure.followers import FollowerCollector
        from infrastructure.relay import RelayBacklogCollector
        from infrastructure.webhooks.metrics import CaptureReviewCollector, WebhookInboxCollector
        from infrastructure.worker.metrics import ProviderTasksCollector

        registry = CollectorRegistry(auto_describe=False)
        registry.register(RelayBacklogCollector(self.app, self.db))
        registry.register(ProviderTasksCollector(self.db))
        registry.register(WebhookInboxCollector(self.db))
        registry.register(CaptureReviewCollector(self.db))
        registry.register(FollowerCollector(self.db))
        return registry

    @cached_property
    def product_queries(self) -> ProductQueries:
        return ProductQueries(self.db)

    @cached_property
    def order_queries(self) -> OrderQueries:
        return OrderQueries(self.db)

    @cached_property
    def payment_queries(self) -> PaymentQueries:
        return PaymentQueries(self.db)

    @cached_property
    def review_queries(self) -> ReviewQueries:
        return ReviewQueries(self.db)

    @cached_property
    def position_reader(self) -> PositionReader:
        return PositionReader.of(self.app, self.db)

    @cached_property
    def order_histories(self) -> OrderHistories:
        """An order's whole history from the event store and the engine's tables (adr/0015)."""
        from infrastructure.audit.history import OrderHistories
        from infrastructure.relay.messages import RelayTopics

        topics = RelayTopics(confirmed=self.settings.kafka_topic_order_confirmed)
        return OrderHistories(self.app, self.db, topics)

    @cached_property
    def audit_export(self) -> AuditExport:
        """Events with actors, evidence references and chain links, as lines (adr/0015)."""
        from infrastructure.audit.export import AuditExport

        return AuditExport(self.app, self.db)

    # -- what the API needs besides (api.services.ApiServices) --------------------------

    @property
    def jwt_secret(self) -> str:
        return self.services.jwt_secret

    @cached_property
    def readiness_checks(self) -> tuple[Callable[[], Check], ...]:
        """The database, the broker, and no follower stopped at an event it cannot apply."""
        from infrastructure.followers import check_followers
        from infrastructure.readiness import check_broker, check_database

        return (
            lambda: check_database(self.db),
            lambda: check_broker(self.services.bootstrap_servers),
            lambda: check_followers(self.db),
        )

    @cached_property
    def unavailable_errors(self) -> tuple[type[Exception], ...]:
        """What the stores raise when the database is away or a lock wait timed out."""
        import psycopg
        import sqlalchemy as sa
        from eventsourcing.persistence import PersistenceError

        return (PersistenceError, sa.exc.OperationalError, psycopg.OperationalError)

    # -- the background loops -----------------------------------------------------------

    def follower_runner(self, follower: Follower, **options: Any) -> ProjectionRunner:
        """The runner that keeps ``follower`` up with the log (``ProjectionRunner`` options:
        ``safety_poll``, ``batch_size``)."""
        return ProjectionRunner(self.app, self.db, follower, **options)

    def shared_follower(self, followers: Iterable[Follower], **options: Any) -> SharedFollower:
        """The process's one follower of the log, for all of ``followers`` (adr/0022;
        ``SharedFollower`` options: ``safety_poll``, ``batch_size``, ...)."""
        return SharedFollower(self.app, self.db, list(followers), **options)

    def projector_loops(
        self, projections: Iterable[Follower] | None = None, *, safety_poll: float = 5.0
    ) -> list[NamedLoop]:
        """One shared follower (one active instance per follower's lock, adr/0022); by
        default for every view and the audit's index of orders' stock movements (adr/0015)."""
        if projections is None:
            projections = (*ALL_PROJECTIONS, StockMovements())
        shared = self.shared_follower(projections, safety_poll=safety_poll)
        return [NamedLoop("followers", shared.run_forever)]

    def outbox_relay(
        self,
        *,
        topics: RelayTopics | None = None,
        producer: Mapping[str, Any] | None = None,
        options: RelayOptions | None = None,
        on_step: Callable[[RelayStep], None] | None = None,
    ) -> OutboxRelay:
        """The relay to the broker in ``services``; ``producer`` adds to (or replaces) its
        librdkafka settings."""
        from infrastructure.relay import OutboxRelay, RelayTopics

        return OutboxRelay(
            self.app,
            self.database,
            {"bootstrap.servers": self.services.bootstrap_servers, **(producer or {})},
            topics or RelayTopics(confirmed=self.settings.kafka_topic_order_confirmed),
            self.settings.kafka_topic_partitions,
            options=options or self.relay_options(),
            on_step=on_step,
        )

    def relay_options(self) -> RelayOptions:
        """The relay's options as configured (RELAY_GATHER_MS), the rest as they default."""
        from infrastructure.relay import RelayOptions

        return RelayOptions(gather=self.settings.relay_gather_ms / 1000)

    def relay_loops(self) -> list[NamedLoop]:
        """The outbox relay (adr/0007): one active per database, the others stand by."""
        return [NamedLoop("relay", self.outbox_relay().run_forever)]

    @property
    def audit_key(self) -> bytes | None:
        """CHECKOUT_AUDIT_KEY, which signs the audit anchors (adr/0015); None when unset."""
        key = self.settings.checkout_audit_key
        return key.encode() if key else None

    @property
    def audit_anchors_file(self) -> Path:
        return self.settings.data_dir / "audit" / "anchors.jsonl"

    def audit_chain(
        self,
        *,
        anchor_policy: AnchorPolicy | None = None,
        anchor_topic: str | None = None,
        safety_poll: float = 5.0,
        batch_size: int = 1000,
        anchors_file: Path | None = None,
    ) -> AuditChain:
        """The hash-chain follower with its anchoring (adr/0015): anchors go to the data
        dir's anchors file (or ``anchors_file``) and, when a broker is configured, to the
        anchor topic."""
        from infrastructure.audit.anchors import (
            AnchorFile,
            Anchoring,
            AnchorPolicy,
            AnchorSink,
            KafkaAnchors,
        )
        from infrastructure.audit.chain import AuditChain

        anchor_file = AnchorFile(anchors_file or self.audit_anchors_file)
        sinks: list[AnchorSink] = [anchor_file]
        if self.services.bootstrap_servers:
            topic = anchor_topic or self.settings.kafka_topic_audit_anchors
            broker = {"bootstrap.servers": self.services.bootstrap_servers}
            sinks.append(KafkaAnchors(broker, topic))
        policy = anchor_policy or AnchorPolicy(
            self.settings.audit_anchor_every_events, self.settings.audit_anchor_every_seconds
        )
        last = anchor_file.last()
        anchoring = Anchoring(
            sinks, policy, self.audit_key, last_anchored=last.notification_id if last else 0
        )
        return AuditChain(
            self.app, self.db, anchoring=anchoring, safety_poll=safety_poll, batch_size=batch_size
        )

    def audit_loops(self) -> list[NamedLoop]:
        """The audit hash chain and its anchors, in the projector role (one active)."""
        return [NamedLoop("audit:chain", self.audit_chain().run_forever)]

    @cached_property
    def task_queue(self) -> TaskQueue:
        from infrastructure.worker.tasks import TaskQueue

        return TaskQueue(self.db)

    def worker_options(self) -> WorkerOptions:
        """The worker's options as the settings give them (retention periods)."""
        retention = RetentionPolicy(
            webhooks=timedelta(days=self.settings.webhook_retention_days),
            tasks=timedelta(days=self.settings.task_retention_days),
            evidence=timedelta(days=self.settings.evidence_retention_days),
        )
        executor = ExecutorSettings(
            lease_seconds=self.settings.worker_task_lease_seconds,
            batch_size=self.settings.worker_batch_size,
            gather_seconds=self.settings.worker_gather_ms / 1000,
        )
        return WorkerOptions(executor=executor, retention=retention)

    def worker_loops(self, options: WorkerOptions | None = None) -> list[NamedLoop]:
        """Every loop of one worker process: the provider-task feed, the executors, the
        expiry reaper, the webhook-inbox sweeper, the retention pruner and the doorbell."""
        from infrastructure.webhooks.sweeper import InboxSweeper
        from infrastructure.worker.doorbell import Doorbell, listen_for_tasks
        from infrastructure.worker.executor import Executor
        from infrastructure.worker.reaper import ExpiryReaper
        from infrastructure.worker.retention import RetentionPruner
        from infrastructure.worker.task_feed import ProviderTaskFeed

        options = options or self.worker_options()
        if not self.gateways:
            log.warning("no payment provider configured: provider tasks will wait for one")
        sweeper = InboxSweeper(
            self.webhook_inbox,
            self.webhook_applier(options.inbox_retry),
            options.inbox_interval_seconds,
        )
        doorbell = Doorbell()
        # The worker's own shared follower: its input stays in its role (adr/0022).
        feed = self.shared_follower([ProviderTaskFeed()])
        # The reaper reads order_view, which the projector fills.
        reaper = ExpiryReaper(
            self.order_queries, self.orders, self.clock, options.reaper_interval_seconds
        )
        pruner = RetentionPruner(
            self.webhook_inbox, self.task_queue, options.retention, self.evidence
        )
        loops = [
            NamedLoop("followers", feed.run_forever),
            NamedLoop("worker:retention", pruner.run_forever),
            NamedLoop("worker:doorbell", partial(listen_for_tasks, self.db, doorbell)),
            NamedLoop("worker:reaper", reaper.run_forever),
            NamedLoop("worker:webhook-inbox", sweeper.run_forever),
        ]
        for number in range(1, options.executors + 1):
            executor = Executor(self.task_queue, self.provider_calls, options.executor, doorbell)
            loops.append(NamedLoop(f"worker:executor-{number}", executor.run_forever))
        every = self.settings.reconcile_every_seconds
        if every and self.ledgers:
            run = partial(self.reconciliation_job.run_forever, every=timedelta(seconds=every))
            loops.append(NamedLoop("worker:reconcile", run))
        return loops

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        if self._db is not None:
            self._db.dispose()
            self._db = None
