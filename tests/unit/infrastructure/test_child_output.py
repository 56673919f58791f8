"""Whatever a role writes reaches `run`'s stderr as one JSON object a line."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from entrypoints.child_output import ChildOutput, ForeignLines
from entrypoints.supervisor import Role, Supervisor


def parsed(line: str | None) -> dict[str, Any]:
    assert line is not None
    value = json.loads(line)
    assert isinstance(value, dict)
    return value


def test_a_json_line_passes_through_as_it_is() -> None:
    line = '{"event": "role running", "role": "relay", "level": "info"}'
    assert ForeignLines("relay").to_json(line + "\n") == line


def test_foreign_lines_are_wrapped_with_their_source() -> None:
    lines = ForeignLines("sandbox")

    started = parsed(lines.to_json("INFO:     Started server process [42]\n"))
    kafka = parsed(lines.to_json("%3|1700000000.123|FAIL|rdkafka#producer-1| refused\n"))
    plain = parsed(lines.to_json("something else {not json}\r\n"))

    assert started["event"] == "Started server process [42]"
    assert (started["level"], started["role"], started["source"]) == ("info", "sandbox", "output")
    assert started["timestamp"].endswith("Z")
    assert kafka["level"] == "error"
    assert plain["event"] == "something else {not json}"
    assert lines.to_json("   \n") is None


def test_a_traceback_is_an_error_to_its_last_line() -> None:
    lines = ForeignLines("api")
    traceback = [
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "    boom()",
        "ValueError: no",
        "after it",
    ]
    levels = [parsed(lines.to_json(line))["level"] for line in traceback]
    assert levels == ["error", "error", "error", "error", "info"]


def test_a_childs_mixed_output_comes_out_as_json_lines() -> None:
    code = (
        "import sys\n"
        "print('plain stdout line')\n"
        'print(\'{"event": "already json"}\', flush=True)\n'
        "sys.stderr.write('WARNING:  careful\\n')\n"
        "raise SystemExit('exiting with a message')\n"
    )
    sink = io.StringIO()
    supervisor = Supervisor(
        [Role("child", [sys.executable, "-c", code])], {}, output=ChildOutput(sink)
    )
    supervisor.start()
    role = supervisor.roles[0]
    assert role.process is not None
    role.process.wait(30)
    supervisor.stop()

    records = [parsed(line) for line in sink.getvalue().splitlines()]
    assert {r["event"] for r in records} == {
        "plain stdout line",
        "already json",
        "careful",
        "exiting with a message",
    }
    assert all(r.get("role") == "child" for r in records if r["event"] != "already json")


def test_without_an_output_a_child_inherits_stderr() -> None:
    role = Role("quiet", [sys.executable, "-c", "pass"])
    role.start({})
    assert role.process is not None
    assert role.process.stdout is None
    assert role.process.wait(30) == 0
