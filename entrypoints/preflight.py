"""What `run` checks before it starts anything: one engine per data directory,
and the ports it is about to bind free.

A second `run` used to print "checkout-engine is running" with fresh tokens while its
roles died on "address already in use"; now it stops at once with exit code 2 and one line
naming the port or the running engine.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from entrypoints.running_engine import (
    EngineState,
    is_alive,
    live_engines,
    read_state,
    state_path,
)
from infrastructure.settings import ConfigurationError, Settings

LOCK_FILE = "engine.lock"


class RunRefused(ConfigurationError):
    """`run` cannot start as configured: exit 2, one line."""


@dataclass
class DataDirClaim:
    """An exclusive flock on ``$CHECKOUT_DATA_DIR/engine.lock``, held while `run` runs.

    The kernel drops it when the process ends, however it ends, so it never goes stale.
    """

    path: Path
    fd: int | None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


def _describe(state: EngineState | None, pid: str) -> str:
    if state is None:
        return f"pid {pid or '?'}, still starting"
    return f"pid {state.pid}, API {state.api_url}"


def claim_data_dir(data_dir: Path) -> DataDirClaim:
    """Refuse when another engine runs for `data_dir` (its lock, or its live state file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        state = read_state(state_path(data_dir))
        raise RunRefused(
            f"an engine is already running for {data_dir} ({_describe(state, holder)}); stop "
            "it first, or set CHECKOUT_DATA_DIR to another directory"
        ) from None
    recorded = read_state(state_path(data_dir))
    if recorded is not None and recorded.pid != os.getpid() and is_alive(recorded):
        os.close(fd)  # a live engine without the lock: its lock file was removed under it
        raise RunRefused(
            f"an engine is already running for {data_dir} ({_describe(recorded, '')}); stop "
            "it first, or set CHECKOUT_DATA_DIR to another directory"
        )
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return DataDirClaim(path, fd)


def bind_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on now, or None when it can.

    Binds the way uvicorn does (SO_REUSEADDR), so a port in TIME_WAIT counts as free.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot be resolved ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use"
            return f"cannot be listened on ({exc.strerror})"
    return None


def _engine_on(port: int, engines: list[EngineState]) -> EngineState | None:
    for db in engines:
        for url in (db.api_url, db.sandbox_url):
            if url and urlsplit(url).port == port:
                return db
    return None


def check_ports(settings: Settings, with_sandbox: bool) -> None:
    """Raise RunRefused naming the first port `run` could not bind."""
    wanted = [("PORT", settings.host, settings.port)]
    if with_sandbox:
        if settings.sandbox_port == settings.port:
            raise RunRefused(
                f"SANDBOX_PORT: {settings.sandbox_port} is PORT too; give the sandbox another port"
            )
        wanted.append(("SANDBOX_PORT", "127.0.0.1", settings.sandbox_port))
    for variable, host, port in wanted:
        problem = bind_problem(host, port)
        if problem is None:
            continue
        owner = (
            _engine_on(port, live_engines(settings, any_engine=True))
            if "in use" in problem
            else None
        )
        by = (
            f", by the engine running from {owner.data_dir} (pid {owner.pid}, API {owner.api_url})"
            if owner
            else ""
        )
        advice = (
            f"stop it, or set {variable} to a free port"
            if "in use" in problem
            else f"set {'HOST and PORT' if variable == 'PORT' else variable} to an address "
            "this machine can listen on"
        )
        raise RunRefused(f"{variable}: {host}:{port} {problem}{by}; {advice}")
