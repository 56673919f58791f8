"""DATABASE_URL in the three shapes its consumers want: libpq, SQLAlchemy, eventsourcing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.transcoder import TRANSCODER_TOPIC


@dataclass(frozen=True)
class DatabaseAddress:
    """A parsed postgresql:// URL; `host` may be a Unix socket directory (pgserver)."""

    url: str
    host: str
    port: int
    dbname: str
    user: str
    password: str

    @classmethod
    def parse(cls, url: str) -> DatabaseAddress:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = parts.hostname or query.get("host", ["127.0.0.1"])[0]
        port = parts.port or int(query.get("port", ["5432"])[0])
        return cls(
            url=url,
            host=host,
            port=port,
            dbname=unquote(parts.path.lstrip("/")),
            user=unquote(parts.username or query.get("user", ["postgres"])[0]),
            password=unquote(parts.password or ""),
        )

    @property
    def conninfo(self) -> str:
        """A libpq URL psycopg accepts (the original URL, which libpq understands)."""
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)

    def with_dbname(self, dbname: str) -> DatabaseAddress:
        """The same server, another database (tests create one per test)."""
        parts = urlsplit(self.conninfo)
        url = parts._replace(path=f"/{dbname}").geturl()
        return DatabaseAddress.parse(url)

    def eventsourcing_env(self, pool_size: int = 5) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": "infrastructure.event_recorder:CheckoutRecorder",
            "TRANSCODER_TOPIC": TRANSCODER_TOPIC,
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": "10",
            # No pre-ping: it cost ~45% of a checkout's time (bench profile), and the
            # recorder already retries operations that fail on a dead connection.
            "POSTGRES_PRE_PING": "n",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # Seconds a writer waits for the events-table lock before giving up;
            # the application turns that into a retry, then a 503.
            "POSTGRES_LOCK_TIMEOUT": "5",
            # Never enable POSTGRES_ENABLE_DB_FUNCTIONS: it drops the table lock
            # that makes notification ids visible in commit order (adr/0003).
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }

    def sqlalchemy_engine(self, pool_size: int = 5, **kwargs: object) -> Engine:
        parts = urlsplit(self.conninfo)
        sa_url = parts._replace(scheme="postgresql+psycopg").geturl()
        return sa.create_engine(
            sa_url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, **kwargs
        )


SCHEMA_LOCK_KEY = 0x636865636B6F7574  # "checkout": one key for every schema change


@contextmanager
def schema_lock(address: DatabaseAddress) -> Iterator[None]:
    """Serialise CREATE TABLE IF NOT EXISTS across processes starting at once.

    Concurrent creators of the same table can both pass the IF NOT EXISTS check and
    one then fails on the catalog's unique index; a session advisory lock prevents it.
    """
    with psycopg.connect(address.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def autocommit(db: Engine) -> sa.Connection:
    """A pooled connection whose statements each commit on their own: for a write that is
    one statement, that statement is the whole transaction, with no BEGIN and no COMMIT
    sent beside it (two of a short transaction's three statements)."""
    return db.connect().execution_options(isolation_level="AUTOCOMMIT")
