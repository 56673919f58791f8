"""A keep-alive HTTP/1.1 client on the standard library's ``http.client`` (adr/0030).

The worker sends one create per checkout to a provider, so the client's own CPU counts:
measured against the sandbox on this machine, a request over httpx cost about 0.7 ms of
client CPU, over urllib3 about 0.35 ms and over ``http.client`` about 0.08 ms. This module
adds what the worker needs on top of ``http.client``: a pool of idle connections per
origin shared by threads, a connection timeout apart from the read timeout, no retries, no
redirects, and one exception for "no answer".

A pooled connection is reused only while it is fresh (``IDLE_EXPIRY`` seconds) and only if
its socket has nothing to read: a server that closed it, or sent bytes nobody asked for,
makes it unusable, and it is dropped before a request is written to it. Nothing is resent:
a request that got no answer raises ``Unreachable``, and the caller decides whether to try
again (the worker's schedule does, with the provider's idempotency).
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

IDLE_EXPIRY = 5.0  # seconds an idle connection is kept (httpcore's default keepalive_expiry)


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


@dataclass
class _Idle:
    connection: http.client.HTTPConnection
    since: float


class KeepAliveClient:
    """Thread-safe; each request takes an idle connection to its origin or opens one."""

    def __init__(
        self, timeout: float, connect_timeout: float, max_idle: int, user_agent: str
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = min(timeout, connect_timeout)
        self._max_idle = max_idle
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[_Idle]] = {}
        self._tls: ssl.SSLContext | None = None
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
        sent = {"User-Agent": self._user_agent, "Accept-Encoding": "identity", **(headers or {})}
        connection = self._take(origin)
        try:
            if connection.sock is None:
                self._connect(connection)
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._give_back(origin, connection)
        return Answer(response.status, response.reason, data)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for pooled in (entry for entries in idle.values() for entry in entries):
            pooled.connection.close()

    def _take(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        now = time.monotonic()
        while True:
            with self._lock:
                entries = self._idle.get(origin)
                pooled = entries.pop() if entries else None
            if pooled is None:
                return self._open(origin)
            fresh = now - pooled.since < IDLE_EXPIRY
            if fresh and _still_usable(pooled.connection, self._timeout):
                return pooled.connection
            pooled.connection.close()

    def _connect(self, connection: http.client.HTTPConnection) -> None:
        """Connect within the connect timeout, then read and write within the other."""
        connection.connect()
        sock: socket.socket = connection.sock
        sock.settimeout(self._timeout)

    def _give_back(
        self, origin: tuple[str, str, int], connection: http.client.HTTPConnection
    ) -> None:
        with self._lock:
            entries = self._idle.setdefault(origin, [])
            if not self._closed and len(entries) < self._max_idle:
                entries.append(_Idle(connection, time.monotonic()))
                return
        connection.close()

    def _open(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return http.client.HTTPSConnection(
            host, port, timeout=self._connect_timeout, context=self._tls
        )


def _still_usable(connection: http.client.HTTPConnection, timeout: float) -> bool:
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
