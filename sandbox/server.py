"""Serving the sandbox with uvicorn: in the foreground (CLI) or on a background thread."""

from __future__ import annotations

import dataclasses
import gc
import socket
import threading
import time

import uvicorn

from .app import create_sandbox_app
from .config import SandboxConfig


def _with_public_url(config: SandboxConfig | None, host: str, port: int) -> SandboxConfig:
    config = config or SandboxConfig()
    if config.public_base_url is not None:
        return config
    reachable = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return dataclasses.replace(config, public_base_url=f"http://{reachable}:{port}")


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 12111,
    config: SandboxConfig | None = None,
    access_log: bool = True,
) -> None:
    """Serve the sandbox until interrupted (Ctrl-C / SIGTERM); ``access_log`` logs a line
    per request."""
    app = create_sandbox_app(_with_public_url(config, host, port))
    # As the engine's roles do (entrypoints/heap.py; the sandbox imports nothing of the
    # engine): what exists now is never garbage, and most of what follows is freed by
    # reference counts. The sandbox keeps every provider object, so its heap only grows.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on", access_log=access_log)


class BackgroundSandbox:
    """The sandbox on a uvicorn server in a daemon thread; ``port=0`` picks a free port.

    The socket is bound before the thread starts, so ``base_url`` is usable at once.
    """

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self.config = _with_public_url(config, host, self.port)
        self.app = create_sandbox_app(self.config)
        uvicorn_config = uvicorn.Config(
            self.app, log_level="warning", lifespan="on", ws="none", access_log=False
        )
        self._server = uvicorn.Server(uvicorn_config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"sandbox-{self.port}",
        )

    def start(self, timeout: float = 10.0) -> BackgroundSandbox:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> BackgroundSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
