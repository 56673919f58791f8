"""`checkout-engine run`: every role as a child process, supervised.

A role that dies is reported loudly and restarted; one that keeps dying
(more than MAX_RESTARTS within RESTART_WINDOW seconds) stops the whole run,
so a role is never silently missing. SIGINT/SIGTERM stop every child, then the
embedded services, leaving no process and no bound port behind.

What the children write comes back through pipes onto this process's stderr as JSON
lines (ChildOutput), so everything `run` writes there is one JSON object a line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from entrypoints.child_output import ChildOutput

log = structlog.get_logger(__name__)

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


@dataclass
class Role:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: deque[float] = field(default_factory=deque)

    def start(self, env: Mapping[str, str], output: ChildOutput | None = None) -> None:
        """Start the process; with `output`, its stdout and stderr go through it. Its
        PostgreSQL connections are named `checkout-<role>` (libpq's PGAPPNAME sets their
        application_name), so pg_stat_activity and the bench tell the roles apart."""
        env = {**env, "PGAPPNAME": f"checkout-{self.name}"}
        if output is None:
            self.process = subprocess.Popen(self.argv, env=env)  # noqa: S603 - our CLI
            return
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            self.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self.process.stdout is not None
        output.follow(self.name, self.process.stdout)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def may_restart(self, now: float) -> bool:
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
            self.restarts.popleft()
        self.restarts.append(now)
        return len(self.restarts) <= MAX_RESTARTS


def role_command(role: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", role, *args]


class RoleFailed(RuntimeError):
    pass


@dataclass
class Supervisor:
    roles: list[Role]
    env: Mapping[str, str]
    stopping: threading.Event = field(default_factory=threading.Event)
    output: ChildOutput | None = field(default_factory=ChildOutput)

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: object) -> None:
            self.stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def start(self) -> None:
        for role in self.roles:
            role.start(self.env, self.output)
            log.info("role started", child=role.name, pid=role.process and role.process.pid)

    def watch(self, poll: float = 0.25) -> None:
        """Block until a stop is requested; raise RoleFailed if a role keeps dying."""
        while not self.stopping.wait(poll):
            for role in self.roles:
                code = role.exited()
                if code is None:
                    continue
                # Ctrl-C reaches the whole process group: a child may see it first.
                if self.stopping.wait(0.5):
                    return
                log.error("role died", child=role.name, exit_code=code)
                if not role.may_restart(time.monotonic()):
                    raise RoleFailed(
                        f"role {role.name} died {MAX_RESTARTS + 1} times in "
                        f"{RESTART_WINDOW:.0f}s (last exit code {code})"
                    )
                role.start(self.env, self.output)
                log.warning(
                    "role restarted", child=role.name, pid=role.process and role.process.pid
                )

    def stop(self, timeout: float = 10.0) -> None:
        running = [r.process for r in self.roles if r.process and r.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("role did not stop in time; killing", pid=process.pid)
                process.kill()
                process.wait()
        if self.output is not None:
            self.output.drain(timeout=2.0)  # their last lines, before `run` says it stopped


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
