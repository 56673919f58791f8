"""One typed settings object built from the environment (CONTRACT.md, Configuration).

Every variable of the contract is a field here. An invalid value raises
`ConfigurationError` whose message names the variable; the CLI turns that into
exit code 2 with a one-line reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


class ConfigurationError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", frozen=True
    )

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    kafka_bootstrap_servers: str | None = Field(default=None, alias="KAFKA_BOOTSTRAP_SERVERS")
    checkout_data_dir: Path = Field(default=Path(".data"), alias="CHECKOUT_DATA_DIR")
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, alias="PORT", ge=1, le=65535)
    checkout_jwt_secret: str | None = Field(default=None, alias="CHECKOUT_JWT_SECRET")

    stripe_secret_key: str | None = Field(default=None, alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: str | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(default=None, alias="STRIPE_API_BASE")
    razorpay_key_id: str | None = Field(default=None, alias="RAZORPAY_KEY_ID")
    razorpay_key_secret: str | None = Field(default=None, alias="RAZORPAY_KEY_SECRET")
    razorpay_webhook_secret: str | None = Field(default=None, alias="RAZORPAY_WEBHOOK_SECRET")
    razorpay_api_base: str | None = Field(default=None, alias="RAZORPAY_API_BASE")

    kafka_topic_order_confirmed: str = Field(
        default="orders.confirmed", alias="KAFKA_TOPIC_ORDER_CONFIRMED", min_length=1
    )
    kafka_topic_partitions: int = Field(default=3, alias="KAFKA_TOPIC_PARTITIONS", ge=1, le=1000)
    payment_ttl_seconds: int = Field(default=1800, alias="PAYMENT_TTL_SECONDS", ge=1)
    webhook_retention_days: int = Field(default=90, alias="WEBHOOK_RETENTION_DAYS", ge=1, le=36500)
    task_retention_days: int = Field(default=90, alias="TASK_RETENTION_DAYS", ge=1, le=36500)
    # Checkouts that do not say how to capture: manual for these vendors' or skus' lines.
    manual_capture_vendors: str = Field(
        default="", alias="MANUAL_CAPTURE_VENDORS", max_length=10_000
    )
    manual_capture_skus: str = Field(default="", alias="MANUAL_CAPTURE_SKUS", max_length=10_000)
    # The worker reconciles with the providers at most once this often; 0 turns it off.
    reconcile_every_seconds: int = Field(
        default=86400, alias="RECONCILE_EVERY_SECONDS", ge=0, le=31 * 86400
    )
    # Evidence (webhook bodies, provider calls) outlives the inbox: seven years (adr/0016).
    evidence_retention_days: int = Field(
        default=2555, alias="EVIDENCE_RETENTION_DAYS", ge=1, le=36500
    )
    # How long a crashed worker's or API's claim on a task or a webhook holds it before
    # another process takes it over; a task's lease must outlast a provider call's timeout.
    worker_task_lease_seconds: float = Field(
        default=60.0, alias="WORKER_TASK_LEASE_SECONDS", ge=5, le=3600
    )
    webhook_lease_seconds: float = Field(default=30.0, alias="WEBHOOK_LEASE_SECONDS", ge=1, le=3600)
    # Provider tasks one worker executor claims, calls and records at once (adr/0023).
    worker_batch_size: int = Field(default=32, alias="WORKER_BATCH_SIZE", ge=1, le=500)
    # How long an executor waits after a wake-up, or a batch that was not full, so that a
    # batch carries the tasks of several checkouts: CPU per checkout against how soon a
    # payment gets its provider object (adr/0023).
    worker_gather_ms: int = Field(default=50, alias="WORKER_GATHER_MS", ge=0, le=1000)
    # How far apart the outbox relay's passes begin after a commit's NOTIFY: passes per
    # second (two statements each) against commit -> broker latency (adr/0007).
    relay_gather_ms: int = Field(default=20, alias="RELAY_GATHER_MS", ge=0, le=1000)
    # The API process's nice value (adr/0024): with every role on one machine (`run`
    # sets 10 unless configured), the followers get the CPU first when it is scarce.
    api_niceness: int = Field(default=0, alias="API_NICENESS", ge=0, le=19)
    sandbox_port: int = Field(default=12111, alias="SANDBOX_PORT", ge=1, le=65535)
    rate_limit_per_customer: str = Field(default="60/minute", alias="RATE_LIMIT_PER_CUSTOMER")
    rate_limit_per_ip: str = Field(default="1200/minute", alias="RATE_LIMIT_PER_IP")
    rate_limit_reads_per_ip: str = Field(default="6000/minute", alias="RATE_LIMIT_READS_PER_IP")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(default=(), alias="CORS_ORIGINS")
    # The audit chain's anchors (adr/0015): the head leaves the database this often.
    audit_anchor_every_events: int = Field(
        default=1000, alias="AUDIT_ANCHOR_EVERY_EVENTS", ge=1, le=10_000_000
    )
    audit_anchor_every_seconds: int = Field(
        default=60, alias="AUDIT_ANCHOR_EVERY_SECONDS", ge=1, le=86_400
    )
    kafka_topic_audit_anchors: str = Field(
        default="audit.anchors", alias="KAFKA_TOPIC_AUDIT_ANCHORS", min_length=1
    )
    checkout_audit_key: str | None = Field(default=None, alias="CHECKOUT_AUDIT_KEY")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError("must be a postgresql:// URL")
        # pgserver hands out socket URLs with an empty netloc host: accept both forms.
        if not parts.path.strip("/"):
            raise ValueError("must name a database, like postgresql://user:pass@host:5432/db")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server.strip()!r} is not host:port")
        return value

    @field_validator("rate_limit_per_customer", "rate_limit_per_ip", "rate_limit_reads_per_ip")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        if value.strip().lower() == "off" or _RATE.match(value.lower()):
            return value.strip().lower()
        raise ValueError("must look like 60/minute (second|minute|hour|day) or off")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            origins = tuple(o.strip() for o in value.split(",") if o.strip())
        else:
            origins = tuple(value or ())
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{origin!r} is not an origin like https://shop.example")
        return origins

    @field_validator("checkout_jwt_secret")
    @classmethod
    def _check_jwt_secret(cls, value: str | None) -> str | None:
        # RFC 7518 3.2: an HS256 key must be at least 256 bits.
        if value and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes (RFC 7518: HS256 needs a 256-bit key)")
        return value or None

    @field_validator("checkout_audit_key")
    @classmethod
    def _check_audit_key(cls, value: str | None) -> str | None:
        # RFC 2104 section 3: an HMAC key shorter than the hash output weakens it.
        if value and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes (an HMAC-SHA256 key of 256 bits)")
        return value or None

    @field_validator("stripe_secret_key")
    @classmethod
    def _check_stripe_key(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ValueError("must start with sk_test_, sk_live_, rk_test_ or rk_live_")
        return value or None

    @field_validator("razorpay_key_id")
    @classmethod
    def _check_razorpay_key(cls, value: str | None) -> str | None:
        if value and not value.startswith(("rzp_test_", "rzp_live_")):
            raise ValueError("must start with rzp_test_ or rzp_live_")
        return value or None

    @property
    def data_dir(self) -> Path:
        return self.checkout_data_dir.resolve()

    def require_services(self, *, jwt: bool = True) -> None:
        """Single-role commands run against real services only (no embedded fallback)."""
        required = [
            ("DATABASE_URL", self.database_url),
            ("KAFKA_BOOTSTRAP_SERVERS", self.kafka_bootstrap_servers),
        ]
        if jwt:
            required.append(("CHECKOUT_JWT_SECRET", self.checkout_jwt_secret))
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigurationError(f"{missing[0]}: required for this command (not set)")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment; raise ConfigurationError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "configuration"
        alias = _alias_for(field)
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{alias}: {message}") from None


def _alias_for(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is not None and info.alias:
        return info.alias
    return field.upper()
