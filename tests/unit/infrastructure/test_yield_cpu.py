"""The API yields the CPU to the followers when every role shares a machine (adr/0024):
its process lowers its own priority before any thread starts, and threads inherit it."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import os, threading
from entrypoints.launcher import yield_cpu
yield_cpu({niceness})
seen = []
thread = threading.Thread(target=lambda: seen.append(os.nice(0)))
thread.start()
thread.join()
print(os.nice(0), seen[0])
"""


def _nice_in_a_child(niceness: int, start: int = 0) -> tuple[int, int]:
    argv = [sys.executable, "-c", CHILD.format(niceness=niceness)]
    out = subprocess.run(
        ["nice", "-n", str(start), *argv], capture_output=True, text=True, check=True
    )
    process, thread = out.stdout.splitlines()[-1].split()  # after any log line
    return int(process), int(thread)


def test_the_process_and_the_threads_it_starts_run_at_the_lower_priority() -> None:
    assert _nice_in_a_child(10) == (10, 10)


def test_zero_leaves_the_priority_alone_and_a_higher_one_is_never_taken_back() -> None:
    assert _nice_in_a_child(0) == (0, 0)
    assert _nice_in_a_child(5, start=12) == (12, 12)
