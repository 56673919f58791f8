"""The roles' output onto `run`'s stderr, one JSON object a line.

A role logs JSON itself (infrastructure.observability): such lines pass through as they
are. Anything else a child writes, uvicorn's own format in the sandbox, librdkafka's
``%3|...`` lines, a traceback from before logging was set up, is wrapped into an object
with the line as ``event``, the child as ``role`` and ``"source": "output"``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TextIO

# uvicorn's default format: "INFO:     Started server process [123]".
_LEVEL_PREFIX = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+")
# librdkafka's own log lines start with their syslog severity: "%3|1700000000.123|FAIL|...".
_SYSLOG_PREFIX = re.compile(r"^%(\d)\|")
_SYSLOG_LEVELS = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")


def _is_json_object(line: str) -> bool:
    if not (line.startswith("{") and line.endswith("}")):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@dataclass
class ForeignLines:
    """Turns one child's lines into JSON lines; remembers whether a traceback is going on."""

    role: str
    in_traceback: bool = False

    def _level(self, line: str) -> tuple[str, str]:
        if line.startswith("Traceback (most recent call last):"):
            self.in_traceback = True
            return "error", line
        if self.in_traceback:
            # Frames are indented; the exception line that ends it is not.
            if not line[:1].isspace() and not line.startswith(
                ("During handling", "The above exception")
            ):
                self.in_traceback = False
            return "error", line
        prefix = _LEVEL_PREFIX.match(line)
        if prefix:
            return prefix.group(1).lower(), line[prefix.end() :]
        severity = _SYSLOG_PREFIX.match(line)
        if severity:
            return _SYSLOG_LEVELS[int(severity.group(1))], line
        return "info", line

    def to_json(self, raw: str) -> str | None:
        """The line as a JSON object (as it is, if it already is one); None if blank."""
        line = raw.rstrip("\r\n")
        if not line.strip():
            return None
        if _is_json_object(line):
            return line
        level, text = self._level(line)
        return json.dumps(
            {
                "event": text,
                "level": level,
                "role": self.role,
                "source": "output",
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        )


@dataclass
class ChildOutput:
    """Copies each child's pipe to `sink` (stderr) on a thread, one whole line per write."""

    sink: TextIO | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def follow(self, role: str, stream: IO[bytes]) -> None:
        thread = threading.Thread(
            target=self._copy, args=(role, stream), name=f"output:{role}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _copy(self, role: str, stream: IO[bytes]) -> None:
        lines = ForeignLines(role)
        with stream:
            for raw in iter(stream.readline, b""):
                line = lines.to_json(raw.decode("utf-8", errors="replace"))
                if line is not None:
                    self._write(line)

    def _write(self, line: str) -> None:
        sink = self.sink or sys.stderr
        try:
            sink.write(line + "\n")  # one call: another thread's line cannot land inside it
            sink.flush()
        except (OSError, ValueError):
            pass  # our stderr is gone (a closed pipe): nothing to tell it any more

    def drain(self, timeout: float) -> None:
        """Wait (up to `timeout`) for the copies of children that have exited to finish."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
