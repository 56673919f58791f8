"""`checkout-engine worker` as a process: starts with no provider configured, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from infrastructure.worker.tasks import TaskQueue
from tests.integration.shop import Shop
from tests.integration.worker.harness import find_task
from tests.waiting import wait_until


def test_the_worker_role_runs_without_provider_keys_and_stops_on_sigterm(
    database_url: str, shop: Shop, queue: TaskQueue, tmp_path: Path
) -> None:
    placed = shop.buy("razorpay")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STRIPE_", "RAZORPAY_"))
    }
    env |= {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # the worker never talks to the broker
        "CHECKOUT_DATA_DIR": str(tmp_path),
    }
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            task = wait_until(
                lambda: (t := find_task(queue, placed.payment.id, "create_order")) and t.last_error,
                timeout=30,
                what="the worker to try the task",
            )
            assert task == "provider not configured"
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert "no payment provider configured" in (tmp_path / "worker.log").read_text()
