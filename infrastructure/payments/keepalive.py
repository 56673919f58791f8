"""A keep-alive HTTP/1.1 client on plain sockets and httptools' response parser (adr/0030).

The worker sends one create per checkout to a provider, so the client's own CPU counts.
Measured against the sandbox on this machine (2026-12-03), one Razorpay create cost the
calling process 0.39-0.45 ms of CPU over the standard library's ``http.client`` and
0.24-0.27 ms over this client, one call after another; from the executor's 16 threads, 0.73
and 0.37-0.40 ms. Most of ``http.client``'s extra part is its header parsing (the ``email``
package) and its two writes per request. httpx and urllib3 had cost more still (adr/0030).

This module is what the worker needs and no more:
- a pool of idle connections per origin, shared by threads;
- a connect timeout apart from the read timeout;
- one write per request (headers and body together, ``TCP_NODELAY``), and the answer read
  by httptools (llhttp, the C parser uvicorn serves with): a length, chunks, or a body that
  ends when the server closes;
- no retries, no redirects, and one exception for "no answer".

A pooled connection is reused only while it is fresh (``IDLE_EXPIRY`` seconds) and only if
its socket has nothing to read: a server that closed it, or sent bytes nobody asked for,
makes it unusable, and it is dropped before a request is written to it. Nothing is resent:
a request that got no answer raises ``Unreachable``, and the caller decides whether to try
again (the worker's schedule does, with the provider's idempotency).
"""

from __future__ import annotations

import base64
import json
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httptools

IDLE_EXPIRY = 5.0  # seconds an idle connection is kept (httpcore's default keepalive_expiry)
READ_SIZE = 65536
# What may not appear in a request line's target, a header's name or its value (as
# http.client refuses): control characters and, in names, separators.
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_BAD_NAME = re.compile(r"[\x00-\x20\x7f:()<>@,;\\\"/\[\]?={}]")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class Unreachable(Exception):
    """The request got no complete answer: refused, reset, timed out, or cut short."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


class Http(Protocol):
    """What the lean creators need of an HTTP client (tests hand them a recording one)."""

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer: ...


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header's value for HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Connection:
    """One socket to an origin; ``sock`` is None once closed."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


@dataclass
class _Idle:
    connection: _Connection
    since: float


class _Reading:
    """httptools' callbacks for one answer."""

    __slots__ = ("body", "complete", "framed", "headers_done", "keep_alive", "parser", "reason")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.reason = b""
        self.body: list[bytes] = []
        self.framed = False  # a Content-Length or chunks say where the body ends
        self.headers_done = False
        self.keep_alive = False
        self.complete = False

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def closed(self) -> None:
        """The server closed the connection: the answer is whole only if its body was the
        kind that ends there (neither a length nor chunks)."""
        if not (self.headers_done and not self.framed):
            raise Unreachable("the connection closed before the answer was complete")
        self.complete = True
        self.keep_alive = False


class KeepAliveClient:
    """Thread-safe; each request takes an idle connection to its origin or opens one."""

    def __init__(
        self,
        timeout: float,
        connect_timeout: float,
        max_idle: int,
        user_agent: str,
        tls: ssl.SSLContext | None = None,  # the system's trust store unless given
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = min(timeout, connect_timeout)
        self._max_idle = max_idle
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[_Idle]] = {}
        self._tls = tls
        self._closed = False

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = (parts.scheme, parts.hostname, port)
        target = parts.path or "/"
        query = parts.query
        if params:
            query = f"{query}&{urlencode(params)}" if query else urlencode(params)
        if query:
            target = f"{target}?{query}"
        message = self._message(method, target, origin, body, headers or {})
        connection = self._take(origin)
        try:
            if connection is None:
                connection = self._open(origin)
            reading = self._exchange(connection, message)
        except (OSError, httptools.HttpParserError) as exc:
            if connection is not None:
                connection.close()
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        if reading.keep_alive:
            self._give_back(origin, connection)
        else:
            connection.close()
        status = reading.parser.get_status_code()
        return Answer(status, reading.reason.decode("latin-1"), b"".join(reading.body))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for pooled in (entry for entries in idle.values() for entry in entries):
            pooled.connection.close()

    def _message(
        self,
        method: str,
        target: str,
        origin: tuple[str, str, int],
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> bytes:
        """The request's bytes: its line, its headers and its body, for one write."""
        if not method.isalpha() or _BAD_TARGET.search(target):
            raise ValueError(f"not a request line: {method!r} {target!r}")
        scheme, host, port = origin
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal
        default = 443 if scheme == "https" else 80
        sent = {
            "Host": host if port == default else f"{host}:{port}",
            "User-Agent": self._user_agent,
            "Accept-Encoding": "identity",
            **headers,
        }
        if body is not None or method in _WITH_BODY:
            sent["Content-Length"] = str(len(body or b""))
        lines = [f"{method} {target} HTTP/1.1"]
        for name, value in sent.items():
            if not name or _BAD_NAME.search(name) or _BAD_VALUE.search(value):
                raise ValueError(f"not a header: {name!r}: {value!r}")
            lines.append(f"{name}: {value}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1") + (body or b"")

    def _exchange(self, connection: _Connection, message: bytes) -> _Reading:
        sock = connection.sock
        if sock is None:
            raise Unreachable("the connection is closed")
        sock.sendall(message)
        reading = _Reading()
        while not reading.complete:
            data = sock.recv(READ_SIZE)
            if not data:
                reading.closed()
                break
            reading.parser.feed_data(data)
        return reading

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                entries = self._idle.get(origin)
                pooled = entries.pop() if entries else None
            if pooled is None:
                return None
            fresh = now - pooled.since < IDLE_EXPIRY
            if fresh and _still_usable(pooled.connection, self._timeout):
                return pooled.connection
            pooled.connection.close()

    def _give_back(self, origin: tuple[str, str, int], connection: _Connection) -> None:
        with self._lock:
            entries = self._idle.setdefault(origin, [])
            if not self._closed and len(entries) < self._max_idle:
                entries.append(_Idle(connection, time.monotonic()))
                return
        connection.close()

    def _open(self, origin: tuple[str, str, int]) -> _Connection:
        """Connect (and, over TLS, shake hands) within the connect timeout; then read and
        write within the other."""
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                sock = self._tls.wrap_socket(sock, server_hostname=host)
            sock.settimeout(self._timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)


def _still_usable(connection: _Connection, timeout: float) -> bool:
    """An idle keep-alive socket is usable only while the server has sent nothing on it:
    readable means it closed the connection (EOF) or broke the protocol. Over TLS, a
    record that carries no data (TLS 1.3 session tickets arrive after the handshake) makes
    the socket readable too, so a read that finds no data decides."""
    sock = connection.sock
    if sock is None or sock.fileno() == -1:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return True
        if not isinstance(sock, ssl.SSLSocket):
            return False
        sock.setblocking(False)
        try:
            sock.recv(1)  # b"": closed; anything else: bytes nobody asked for
        except ssl.SSLWantReadError:
            return True
        finally:
            sock.settimeout(timeout)
    except OSError:
        return False
    return False
