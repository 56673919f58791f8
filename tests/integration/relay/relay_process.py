"""One outbox relay in its own process, for crash and fail-over tests.

    python -m tests.integration.relay.relay_process DATABASE_URL BOOTSTRAP SUFFIX [CRASH_AT]

CRASH_AT names a RelayStep: at that point of its first batch the process SIGKILLs
itself, as `kill -9` would. SIGTERM stops it cleanly (producer flushed, lock released).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading

from entrypoints.bootstrap import Container, Services
from infrastructure.observability import configure_logging
from infrastructure.relay import RelayStep
from infrastructure.settings import load_settings
from tests.integration.relay.harness import FAST, producer_config, relay_topics


def main(argv: list[str]) -> int:
    database_url, bootstrap_servers, suffix, crash_at = [*argv, ""][:4]
    configure_logging("relay")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_step(step: RelayStep) -> None:
        if crash_at and step == RelayStep(crash_at):
            os.kill(os.getpid(), signal.SIGKILL)

    # As the relay role builds it (a small pool: the relay is one thread).
    services = Services(database_url, bootstrap_servers, "")
    container = Container(load_settings(), services, pool_size=2)
    options = dataclasses.replace(FAST, standby_retry=1.0)  # the production default
    try:
        relay = container.outbox_relay(
            topics=relay_topics(suffix),
            producer=producer_config(bootstrap_servers),
            options=options,
            on_step=on_step,
        )
        relay.run_forever(stop)
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
