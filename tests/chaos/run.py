"""One chaos run: start the stack, drive the scenario, inject faults until enough crashes,
calm everything, wait for convergence, check the invariants, report.

The seed fixes every choice the run makes (which fault, which role, which crash point and
after how many passes, what each customer and the operator do). Timing is the machine's, so
a seed replays the same schedule of decisions, not the same interleaving to the microsecond:
run a failing seed again, and a few times, to reproduce it.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.chaos.checker import CheckReport, Evidence, check, unsettled
from tests.chaos.scenario import HOT_SKUS, Scenario
from tests.chaos.stack import ROLES, Stack

# Weights of the faults the schedule picks between crashes of its own making.
FAULT_WEIGHTS = {
    "kill": 60,
    "postgres_connections_terminated": 12,
    "postgres_restarted": 4,
    "broker_paused": 8,
}


@dataclass(frozen=True)
class ChaosOptions:
    seed: int
    crashes: int
    workdir: Path
    customers: int = 6
    converge_timeout: float = 300.0
    max_fault_seconds: float | None = None  # default: 8 s per crash asked for
    progress: Callable[[str], None] | None = None


@dataclass
class ChaosResult:
    report: dict[str, Any]
    check: CheckReport | None
    converged: bool

    @property
    def violations(self) -> int:
        return len(self.check.violations) if self.check else -1


def evidence_of(stack: Stack, scenario: Scenario | None = None) -> Evidence:
    env = stack.provider_environment
    return Evidence(
        database_url=stack.database_url,
        bootstrap_servers=stack.bootstrap_servers,
        confirmed_topic="orders.confirmed",
        stripe_api_base=env["STRIPE_API_BASE"],
        stripe_secret_key=env["STRIPE_SECRET_KEY"],
        razorpay_api_base=env["RAZORPAY_API_BASE"],
        razorpay_key_id=env["RAZORPAY_KEY_ID"],
        razorpay_key_secret=env["RAZORPAY_KEY_SECRET"],
        initial_stock={entry.sku: entry.stock for entry in HOT_SKUS},
        clients=scenario.history if scenario is not None else None,
    )


def run_chaos(options: ChaosOptions) -> ChaosResult:
    schedule = random.Random(f"{options.seed}:faults")
    stack = Stack(options.workdir, random.Random(f"{options.seed}:stack"), catalog=list(HOT_SKUS))
    started = time.monotonic()
    stack.start()
    scenario = Scenario(stack, options.seed, customers=options.customers)
    try:
        scenario.start()
        fault_seconds = _inject(stack, schedule, options)
        calm_started = time.monotonic()
        stack.calm()
        scenario.calm_provider()
        scenario.stop()
        scenario.calm_provider()  # the operator may have armed a fault while it was stopping
        stack.sandbox_control("POST", "/webhooks/flush", {"timeout": 60})
        evidence = evidence_of(stack, scenario)
        converged, moving = _converge(evidence, options.converge_timeout)
        converge_seconds = time.monotonic() - calm_started
        stack.stop_roles()
        report_of_check = check(evidence)
    finally:
        stack.stop()
    report = {
        "seed": options.seed,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "crashes_asked": options.crashes,
        "crashes": stack.counted_crashes(),
        "crashes_by_role": stack.crash_counts(),
        "own_exits": sum(1 for c in stack.crashes if c.kind == "exit"),
        "faults": dict(sorted(stack.faults.items())),
        "operations": dict(sorted(scenario.operations.items())),
        "violations": [v.__dict__ for v in report_of_check.violations],
        "examined": report_of_check.examined,
        "converged": converged,
        "still_moving": moving,
        "seconds": {
            "faults": round(fault_seconds, 1),
            "to_converge": round(converge_seconds, 1),
            "total": round(time.monotonic() - started, 1),
        },
    }
    return ChaosResult(report, report_of_check, converged)


def _inject(stack: Stack, schedule: random.Random, options: ChaosOptions) -> float:
    """Faults at random moments until the roles have crashed ``options.crashes`` times."""
    started = time.monotonic()
    limit = options.max_fault_seconds or 8.0 * options.crashes
    kinds, weights = zip(*FAULT_WEIGHTS.items(), strict=True)
    reported = 0
    while stack.counted_crashes() < options.crashes:
        if options.progress and stack.counted_crashes() >= reported + 50:
            reported = stack.counted_crashes()
            options.progress(f"{reported}/{options.crashes} crashes, {stack.now():.0f} s")
        if time.monotonic() - started > limit:
            break
        time.sleep(schedule.uniform(0.5, 2.5))
        kind = schedule.choices(kinds, weights)[0]
        try:
            if kind == "kill":
                stack.kill(schedule.choice(ROLES))
            elif kind == "postgres_connections_terminated":
                stack.terminate_connections()
            elif kind == "postgres_restarted":
                stack.restart_postgres()
            else:
                stack.pause_broker(schedule.uniform(1, 6))
        except Exception as exc:  # a fault that could not be injected is counted, not fatal
            stack.faults[f"could_not_inject:{kind}:{type(exc).__name__}"] += 1
    return time.monotonic() - started


def _converge(evidence: Evidence, timeout: float) -> tuple[bool, list[str]]:
    deadline = time.monotonic() + timeout
    moving: list[str] = []
    while time.monotonic() < deadline:
        try:
            moving = unsettled(evidence)
        except Exception as exc:  # the database may still be recovering
            moving = [f"could not read: {exc}"]
        if not moving:
            return True, []
        time.sleep(1.0)
    return False, moving


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")


def summary(report: dict[str, Any]) -> str:
    by_kind: Counter[str] = Counter()
    for kinds in report["crashes_by_role"].values():
        by_kind.update(kinds)
    return (
        f"seed {report['seed']}: {report['crashes']} crashes "
        f"({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}), "
        f"faults {report['faults']}, {len(report['violations'])} violations, "
        f"converged={report['converged']} in {report['seconds']['to_converge']} s, "
        f"{report['seconds']['total']} s in all"
    )
