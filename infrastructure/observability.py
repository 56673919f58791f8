"""Structured logs (structlog) and Prometheus metrics shared by every role."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

import structlog
from prometheus_client import Counter, Gauge, Histogram
from structlog.typing import EventDict, Processor, WrappedLogger

HTTP_REQUESTS = Counter(
    "checkout_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "checkout_http_request_seconds", "HTTP request latency", ["method", "route"]
)
READS_WAITING = Gauge(
    "checkout_reads_waiting_for_views",
    "Reads waiting, right now, for the views to reach the position they must reflect",
)
CHECKOUT_BATCH = Histogram(
    "checkout_batch_size",
    "Checkouts decided and committed together by the API's writer (adr/0019)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
CHECKOUT_BATCH_CONFLICTS = Counter(
    "checkout_batch_conflicts_total",
    "Checkout batches decided again because another writer moved one of their aggregates",
)
READY = Gauge("checkout_ready", "1 when the database and broker are reachable", ["dependency"])

# Libraries that narrate at INFO what no operator needs.
QUIET_LOGGERS = ("uvicorn.access", "httpx", "alembic.runtime.plugins")


def _role_adder(role: str) -> Processor:
    # A processor, not a context variable: threads other than the main one log it too.
    def add_role(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("role", role)
        return event_dict

    return add_role


def json_formatter(role: str) -> logging.Formatter:
    """Renders the standard library's records (uvicorn, Alembic, pgserver, librdkafka through
    the relay's logger) as the same JSON lines, with the logger's name."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _role_adder(role),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure_logging(role: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr, one event per line, with the role on every line.

    structlog's events and the standard library's records alike; warnings and uncaught
    exceptions become log lines too. What a process writes some other way (a library's
    own handlers, a C library, output before this runs) the supervisor wraps under `run`.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter(role))
    logging.basicConfig(handlers=[handler], level=level, force=True)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _role_adder(role),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line (print() makes two), so threads never split each other's lines.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    log = structlog.get_logger("uncaught")
    if issubclass(kind, KeyboardInterrupt):
        log.info("interrupted")
        return
    log.critical("uncaught exception", exc_info=(kind, value, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    structlog.get_logger("uncaught").critical(
        "uncaught exception in a thread",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
