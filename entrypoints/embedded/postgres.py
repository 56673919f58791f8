"""Embedded PostgreSQL from the `pgserver` wheel (used when DATABASE_URL is unset)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives under `data_dir` and survives restarts.

    pgserver listens on a Unix socket only, so the URL it hands out has an empty
    host and a `?host=/socket/dir` query; everything that parses DATABASE_URL
    accepts that form.
    """

    data_dir: Path
    delete_on_stop: bool = False
    _server: Any = None

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        mode = "delete" if self.delete_on_stop else "stop"
        # pgserver narrates every step at INFO; its failures still show as errors.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from pgserver import get_server  # type: ignore[attr-defined]

            self._server = get_server(self.data_dir, cleanup_mode=mode)
        url: str = self._server.get_uri()
        log.info("embedded postgres ready at %s", url)
        return url

    def restart(self, *, immediate: bool = True) -> None:
        """Restart the server in place (same socket, same data); ``immediate`` stops it
        as a crash would, so it recovers from its WAL on the way up (the chaos suite)."""
        assert self._server is not None, "start() first"
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        mode = "immediate" if immediate else "fast"
        server = self._server
        pg_ctl(
            ["-w", "-m", mode, "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
