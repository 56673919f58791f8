"""The worker's keep-alive client against a real HTTP/1.1 server on a loopback port."""

from __future__ import annotations

import json
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from infrastructure.payments import keepalive
from infrastructure.payments.keepalive import KeepAliveClient, Unreachable, basic_auth
from tests.waiting import wait_until


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, Any]]] = []
    close_after: ClassVar[bool] = False
    drop_after: ClassVar[bool] = False
    stalling: ClassVar[bool] = False
    release: ClassVar[threading.Event] = threading.Event()

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        closing, dropping = self.close_after, self.drop_after  # as when the request came
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        port = self.client_address[1]
        self.seen.append(
            {"method": self.command, "path": self.path, "body": body, "peer": port}
            | {"headers": dict(self.headers)}
        )
        if self.stalling:
            self.release.wait(5)
        answer = json.dumps({"path": self.path}).encode()
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if closing:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)
        if closing or dropping:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    Handler.close_after = Handler.drop_after = False
    Handler.stalling = False
    Handler.release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client() -> Iterator[KeepAliveClient]:
    http = KeepAliveClient(2.0, 1.0, max_idle=4, user_agent="keepalive-test")
    yield http
    http.close()


def test_requests_go_out_as_given_and_answers_come_back(
    server: str, client: KeepAliveClient
) -> None:
    answer = client.request(
        "POST",
        f"{server}/v1/orders",
        body=b'{"amount": 1}',
        headers={"Authorization": basic_auth("id", "secret")},
    )
    listed = client.request("GET", f"{server}/v1/orders", params={"receipt": "r 1", "count": 2})
    missing = client.request("GET", f"{server}/missing")

    assert (answer.status, answer.reason, answer.json()) == (200, "OK", {"path": "/v1/orders"})
    assert listed.json() == {"path": "/v1/orders?receipt=r+1&count=2"}
    assert missing.status == 404
    posted = Handler.seen[0]
    assert posted["body"] == b'{"amount": 1}'
    assert posted["headers"]["Authorization"] == "Basic aWQ6c2VjcmV0"
    assert posted["headers"]["User-Agent"] == "keepalive-test"


def test_one_connection_serves_requests_one_after_another(
    server: str, client: KeepAliveClient
) -> None:
    for _ in range(5):
        client.request("GET", f"{server}/ping")

    assert len({seen["peer"] for seen in Handler.seen}) == 1


def test_a_connection_the_server_closed_is_not_reused(server: str, client: KeepAliveClient) -> None:
    Handler.close_after = True
    client.request("GET", f"{server}/first")
    Handler.close_after = False
    client.request("GET", f"{server}/second")

    assert len({seen["peer"] for seen in Handler.seen}) == 2


def test_an_idle_connection_closed_by_the_server_is_dropped_before_the_next_request(
    server: str, client: KeepAliveClient
) -> None:
    Handler.drop_after = True  # keep-alive promised, then closed: a server's idle timeout
    client.request("GET", f"{server}/first")
    Handler.drop_after = False
    [pooled] = [entry for entries in client._idle.values() for entry in entries]
    sock = pooled.connection.sock
    assert sock is not None
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    wait_until(lambda: bool(poller.poll(0)), what="the server's close to arrive")

    answer = client.request("GET", f"{server}/second")

    assert answer.status == 200
    assert len({seen["peer"] for seen in Handler.seen}) == 2


def test_a_stale_connection_is_not_reused(
    server: str, client: KeepAliveClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.request("GET", f"{server}/first")
    monkeypatch.setattr(keepalive, "IDLE_EXPIRY", 0.0)
    client.request("GET", f"{server}/second")

    assert len({seen["peer"] for seen in Handler.seen}) == 2


def test_threads_share_the_pool_without_sharing_a_connection(
    server: str, client: KeepAliveClient
) -> None:
    answers: list[int] = []

    def send(n: int) -> None:
        for i in range(5):
            answers.append(client.request("GET", f"{server}/t{n}/{i}").status)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200] * 20
    assert sorted(seen["path"] for seen in Handler.seen) == sorted(
        f"/t{n}/{i}" for n in range(4) for i in range(5)
    )


def test_no_answer_within_the_timeout_is_unreachable(server: str) -> None:
    Handler.stalling = True
    http = KeepAliveClient(0.2, 0.2, max_idle=1, user_agent="keepalive-test")
    try:
        with pytest.raises(Unreachable):
            http.request("GET", f"{server}/slow")
    finally:
        http.close()
    assert not http._idle.get(("http", "127.0.0.1", int(server.rsplit(":", 1)[1])))


def test_a_refused_connection_is_unreachable(client: KeepAliveClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(Unreachable):
            client.request("GET", f"http://127.0.0.1:{port}/")


def test_only_http_and_https_urls_are_taken(client: KeepAliveClient) -> None:
    with pytest.raises(ValueError, match="not an http"):
        client.request("GET", "ftp://example.test/")


def _answering_once(reply: bytes) -> tuple[str, threading.Thread]:
    """A server that reads one request, writes ``reply`` and closes: answers that
    http.server would not send (chunks, no length, cut short)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        with listener:
            peer, _ = listener.accept()
            with peer:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += peer.recv(4096)
                peer.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def test_a_chunked_answer_is_read_whole(client: KeepAliveClient) -> None:
    url, served = _answering_once(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n5\r\n: 1}\n\r\n0\r\n\r\n'
    )
    answer = client.request("POST", url, body=b"{}")
    served.join(5)

    assert (answer.status, answer.reason, answer.json()) == (201, "Created", {"a": 1})


def test_an_answer_without_a_length_ends_when_the_server_closes(
    client: KeepAliveClient,
) -> None:
    url, served = _answering_once(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
    answer = client.request("GET", url)
    served.join(5)

    assert answer.body == b"all of it"
    assert not client._idle.get(("http", "127.0.0.1", int(url.rsplit(":", 1)[1])))


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nten bytes.",  # short of its length
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n",  # no last chunk
        b"HTTP/1.1 200 OK\r\nContent-Le",  # mid-headers
        b"",  # nothing at all
    ],
)
def test_an_answer_cut_short_is_unreachable(client: KeepAliveClient, reply: bytes) -> None:
    url, served = _answering_once(reply)
    with pytest.raises(Unreachable):
        client.request("GET", url)
    served.join(5)


def test_an_answer_that_is_not_http_is_unreachable(client: KeepAliveClient) -> None:
    url, served = _answering_once(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with pytest.raises(Unreachable):
        client.request("GET", url)
    served.join(5)


@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "k\r\nX-Injected: 1"},
        {"Bad Name": "v"},
        {"X-Null": "a\x00b"},
    ],
)
def test_a_header_that_could_split_the_request_is_refused_before_anything_is_sent(
    server: str, client: KeepAliveClient, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="not a header"):
        client.request("POST", f"{server}/v1/orders", body=b"{}", headers=headers)

    assert Handler.seen == []


def test_the_request_goes_out_with_its_host_and_length(
    server: str, client: KeepAliveClient
) -> None:
    client.request("POST", f"{server}/v1/orders", body=b"12345")
    client.request("POST", f"{server}/v1/empty")

    port = server.rsplit(":", 1)[1]
    first, second = Handler.seen
    assert first["headers"]["Host"] == f"127.0.0.1:{port}"
    assert (first["headers"]["Content-Length"], first["body"]) == ("5", b"12345")
    assert second["headers"]["Content-Length"] == "0"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The same server over TLS, with a certificate for 127.0.0.1 made for the test, and a
    client context that trusts only it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", *request, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    Handler.seen = []
    Handler.close_after = Handler.drop_after = Handler.stalling = False
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = serving.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", ssl.create_default_context(cafile=cert)
    httpd.shutdown()
    httpd.server_close()


def test_over_tls_a_connection_is_verified_kept_and_reused(
    tls_server: tuple[str, ssl.SSLContext],
) -> None:
    url, trusting = tls_server
    http = KeepAliveClient(2.0, 1.0, max_idle=2, user_agent="keepalive-test", tls=trusting)
    try:
        answers = [http.request("POST", f"{url}/v1/orders/{n}", body=b"{}") for n in range(3)]
    finally:
        http.close()

    assert [answer.json() for answer in answers] == [{"path": f"/v1/orders/{n}"} for n in range(3)]
    assert len({seen["peer"] for seen in Handler.seen}) == 1


def test_over_tls_a_certificate_nobody_vouches_for_is_unreachable(
    tls_server: tuple[str, ssl.SSLContext],
) -> None:
    url, _ = tls_server
    http = KeepAliveClient(2.0, 1.0, max_idle=2, user_agent="keepalive-test")  # system CAs
    try:
        with pytest.raises(Unreachable, match="CERTIFICATE_VERIFY_FAILED"):
            http.request("GET", f"{url}/v1/orders")
    finally:
        http.close()
    assert Handler.seen == []
