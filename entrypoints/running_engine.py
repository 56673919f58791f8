"""Where the running engine is: `run` publishes it, the other commands find it.

`run` writes ``$CHECKOUT_DATA_DIR/engine.json`` (mode 0600: it holds the JWT secret) with
its pid and addresses, and a pointer to that file in a per-user place,
``$XDG_STATE_HOME/checkout-engine/running.json`` (``~/.local/state/...`` by default); it
removes both when it stops cleanly.

A command that needs the database or the token secret and is not given DATABASE_URL or
CHECKOUT_JWT_SECRET takes them from the running engine: the state file of
CHECKOUT_DATA_DIR (or ``--data-dir``) when that is given, else the one under ``./.data``,
else the pointer's, and only while the pid recorded there is alive. It never starts an
embedded PostgreSQL of its own: that would be a second, empty shop, and a token signed
with a second secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from infrastructure.settings import ConfigurationError, Settings

STATE_FILE = "engine.json"
POINTER = Path("checkout-engine") / "running.json"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class EngineState:
    """What `run` publishes about itself."""

    pid: int
    data_dir: str
    api_url: str
    database_url: str
    kafka_bootstrap_servers: str
    jwt_secret: str
    sandbox_url: str | None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # The kernel's start time of the pid: a recycled pid is not this engine.
    process_start: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> EngineState:
        """Raises ValueError (JSONDecodeError, TypeError as ValueError) on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


class NoRunningEngine(ConfigurationError):
    """Nothing said where the engine is, and no engine is running: exit 2."""


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def pointer_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_STATE_HOME/checkout-engine/running.json``; XDG says to ignore a relative value."""
    base = environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / POINTER


def process_start(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks); None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def is_alive(state: EngineState) -> bool:
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user: the start time below still tells
    try:
        if Path(f"/proc/{state.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False  # exited, not yet reaped by its parent
    except (OSError, IndexError):
        pass
    started = process_start(state.pid)
    return state.process_start is None or started is None or started == state.process_start


def _write_private(path: Path, text: str) -> None:
    """Write `path` atomically, readable by this user only (it may hold a secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    temporary.chmod(0o600)
    os.replace(temporary, path)


def read_state(path: Path) -> EngineState | None:
    """The state recorded at `path`, or None when there is none or it is unreadable."""
    try:
        return EngineState.from_json(path.read_text())
    except (OSError, ValueError):
        return None


def _pointed_state_file(pointer: Path) -> Path | None:
    try:
        data = json.loads(pointer.read_text())
    except (OSError, ValueError):
        return None
    target = data.get("state_file") if isinstance(data, dict) else None
    return Path(target) if isinstance(target, str) else None


@dataclass(frozen=True)
class Publication:
    """The state file and the pointer one `run` wrote; ``withdraw`` removes what is still ours."""

    state: EngineState
    state_file: Path
    pointer: Path | None  # None when it could not be written (a read-only home)

    def withdraw(self) -> None:
        recorded = read_state(self.state_file)
        if recorded is not None and recorded.pid == self.state.pid:
            self.state_file.unlink(missing_ok=True)
        # Another engine started since may have taken the pointer over: leave it to that one.
        if self.pointer is not None and _pointed_state_file(self.pointer) == self.state_file:
            self.pointer.unlink(missing_ok=True)


def publish(state: EngineState, environ: Mapping[str, str] = os.environ) -> Publication:
    """Write the state file (it must be: OSError) and the pointer (if it can be)."""
    state_file = state_path(Path(state.data_dir))
    _write_private(state_file, state.to_json())
    pointer = pointer_path(environ)
    try:
        pointer.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(
            pointer, json.dumps({"state_file": str(state_file), "pid": state.pid}, indent=2) + "\n"
        )
    except OSError:
        return Publication(state, state_file, None)  # found by its data dir only
    return Publication(state, state_file, pointer)


def candidate_state_files(
    settings: Settings, environ: Mapping[str, str] = os.environ, *, any_engine: bool = False
) -> list[Path]:
    """Where to look, in order: the given data dir alone, else ./.data, then the pointer's
    (with `any_engine`, the pointer's even when a data dir was given)."""
    own = state_path(settings.data_dir)
    if "checkout_data_dir" in settings.model_fields_set and not any_engine:
        return [own]
    pointed = _pointed_state_file(pointer_path(environ))
    return [own] if pointed is None or pointed == own else [own, pointed]


def live_engines(
    settings: Settings, environ: Mapping[str, str] = os.environ, *, any_engine: bool = False
) -> list[EngineState]:
    paths = candidate_state_files(settings, environ, any_engine=any_engine)
    states = (read_state(path) for path in paths)
    return [state for state in states if state is not None and is_alive(state)]


def find_running_engine(
    settings: Settings, needs: str, environ: Mapping[str, str] = os.environ
) -> EngineState:
    """The running engine, or NoRunningEngine saying where it looked and what else to set."""
    running = live_engines(settings, environ)
    if running:
        return running[0]
    looked = [str(path) for path in candidate_state_files(settings, environ)]
    if "checkout_data_dir" not in settings.model_fields_set:
        looked.append(f"the pointer {pointer_path(environ)}")
    raise NoRunningEngine(
        f"no running engine found (looked for {' and '.join(looked)}): start one with "
        f"`checkout-engine run`, or set {needs}, or CHECKOUT_DATA_DIR to the data "
        "directory of a running engine"
    )


def database_url(settings: Settings) -> str:
    """DATABASE_URL, else the running engine's database; never a new embedded one."""
    if settings.database_url:
        return settings.database_url
    return find_running_engine(settings, needs="DATABASE_URL").database_url


def jwt_secret(settings: Settings) -> str:
    """CHECKOUT_JWT_SECRET, else the running engine's secret, so its tokens are accepted."""
    if settings.checkout_jwt_secret:
        return settings.checkout_jwt_secret
    return find_running_engine(settings, needs="CHECKOUT_JWT_SECRET").jwt_secret


def data_dir_option(command: F) -> F:
    """``--data-dir DIR``: the same as CHECKOUT_DATA_DIR=DIR, for this command."""

    def remember(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            # Settings read the environment, and `run` hands it to its roles.
            os.environ["CHECKOUT_DATA_DIR"] = str(value)

    option = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        callback=remember,
        help="As CHECKOUT_DATA_DIR (default ./.data): where `run` records the engine it "
        "started, and where other commands look for it.",
    )
    return option(command)
