"""Every line a role writes to stderr through logging is a JSON object."""

from __future__ import annotations

import json
import subprocess
import sys

# What a role's process does: structlog, the standard library's loggers (uvicorn, Alembic,
# pgserver), a warning, a thread that dies, and finally an exception nobody catches.
SCRIPT = """
import logging, threading, warnings
import structlog
from infrastructure.observability import configure_logging

configure_logging("api")
structlog.get_logger().info("structlog event", n=1)
logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:1")
logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
logging.getLogger("pgserver").warning("two\\nlines")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("projections.migrations").exception("failed")
warnings.warn("deprecated thing", UserWarning, stacklevel=1)
thread = threading.Thread(target=lambda: structlog.get_logger().info("from a thread"))
thread.start(); thread.join()
dying = threading.Thread(target=lambda: 1 / 0, name="dying")
dying.start(); dying.join()
raise RuntimeError("uncaught")
"""


def test_every_stderr_line_is_a_json_object_with_the_role() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 1
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert all(isinstance(r, dict) and r["role"] == "api" for r in records), result.stderr
    by_event = {r["event"].strip(): r for r in records}
    assert by_event["Uvicorn running on http://127.0.0.1:1"]["logger"] == "uvicorn.error"
    assert by_event["two\nlines"]["level"] == "warning"
    assert "ZeroDivisionError" in by_event["failed"]["exception"]
    assert any("deprecated thing" in r["event"] for r in records)
    assert "from a thread" in by_event
    assert by_event["uncaught exception in a thread"]["thread"] == "dying"
    assert "RuntimeError: uncaught" in by_event["uncaught exception"]["exception"]
