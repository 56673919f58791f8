"""The benchmark's phases, in order, and the results document they produce.

1. services: PostgreSQL (synchronous_commit on, the bench's statement counter preloaded)
   and the broker; topics created up front.
2. `checkout-engine run` with every role; a catalog with plenty of stock.
3. checkout load at 8 clients (load generator process) with the probes beside it:
   projection lag and outbox latency of orders paid in the sandbox; CPU per checkout by
   role and by the PostgreSQL backends serving each role; statements, transactions and
   WAL fsyncs per checkout; the worker's rate against arrivals. Then the worker drains.
4. the same at 32 clients (the top-level `checkout` figures); the worker drains again.
5. status reads: concurrent pollers of GET /orders/{id}/payments over the 32-client orders.
6. profile: a short checkout load again, py-spy on the API process.
7. the stack stops; baselines on the same server: psycopg INSERTs, eventsourcing saves,
   batched 5-row checkout INSERTs under the table lock (the physical ceiling).
8. rebuild of the payment status view over >= 200k events (the log topped up).
9. `audit order` on that log: sampled orders' histories with their state at an instant.
10. `audit verify` on that log: the hash chain caught up, then recomputed from the first event.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import report
from bench.audit_order import measure_audit_order
from bench.audit_verify import measure_audit_verify
from bench.baselines import BATCHED, EVENTSOURCING, POSTGRES, mean_state_bytes, run_baseline
from bench.counters import BENCH_APP, CounterReader, Snapshot, per_checkout
from bench.cpu import (
    MACHINE,
    OUTSIDE,
    CpuWindow,
    PostgresBackends,
    ms_per_checkout,
    postmaster_pid,
    with_outside,
)
from bench.loadgen import CHECKOUT, STATUS, LoadSpec, start_load
from bench.probes import Probes, consumer_overhead
from bench.profiling import (
    PROFILE_RATE,
    CpuTimes,
    cpu_times,
    headline,
    py_spy,
    record,
    summarise_files,
)
from bench.rebuild import EVENTS_TABLE, measure_rebuild
from bench.services import Services, machine_facts, services
from bench.stack import Stack, catalog_entries
from bench.stats import summarise_ms
from entrypoints.bootstrap import Container
from entrypoints.harness import container_from_environment, create_relay_topics, create_topics

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CALIBRATION_TOPIC = "bench.calibration"
START_DELAY_S = 3.0  # for the load generator's interpreter to start before its clock
DRAIN_TIMEOUT_S = 180.0
OUTSIDE_WARNING = 0.05  # share of the machine used by other processes worth a warning
CHECKOUT_CLIENTS = (8, 32)  # the checkout load runs at each, in this order


@dataclass(frozen=True)
class Plan:
    quick: bool
    concurrency: int
    warmup_s: float
    checkout_s: float
    status_warmup_s: float
    status_s: float
    baseline_warmup_s: float
    baseline_s: float
    profile_s: float
    rebuild_events: int
    probe_interval_s: float
    skus: int = 200
    stock_per_sku: int = 10_000_000
    checkout_clients: tuple[int, ...] = CHECKOUT_CLIENTS

    @classmethod
    def make(cls, quick: bool, concurrency: int) -> Plan:
        if quick:
            return cls(True, concurrency, 3, 12, 2, 8, 2, 6, 8, 30_000, 0.1)
        return cls(False, concurrency, 10, 120, 5, 30, 3, 20, 20, 200_000, 0.2)


def payment_counts(conninfo: str) -> tuple[int, int]:
    """(payments still `processing`, i.e. without a provider order; all payments)."""
    query = (
        "SELECT count(*) FILTER (WHERE status = 'processing'), count(*) FROM payment_status_view"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def provider_order_backlog(samples: list[tuple[float, int, int]]) -> dict[str, Any]:
    """From (time, processing, total) at the window's start and end: how fast the worker
    created provider orders, and how many payments still waited for one at the end."""
    (t0, waiting0, total0), (t1, waiting1, total1) = samples[0], samples[-1]
    created = (total1 - waiting1) - (total0 - waiting0)
    seconds = max(t1 - t0, 1e-9)
    arrivals = (total1 - total0) / seconds
    return {
        "provider_orders_per_s": round(created / seconds, 1),
        "payments_per_s": round(arrivals, 1),
        # The worker's rate against arrivals (1.0: it keeps up), and what waited at the end
        # in seconds of arrivals (the target: at most 1 s).
        "worker_rate_vs_arrivals": round(created / seconds / arrivals, 3) if arrivals else None,
        "payments_processing_at_start": waiting0,
        "payments_processing_at_end": waiting1,
        "processing_at_end_s_of_arrivals": round(waiting1 / arrivals, 2) if arrivals else None,
        "_ended": t1,
    }


def engine_container(found: Services) -> Container:
    """The engine's object graph in the bench's own process, on the bench's services and
    this environment's settings (the stack's): it creates the topics, and tops up and
    rebuilds the log once the stack has stopped."""
    return container_from_environment(found.database_url, found.bootstrap_servers, pool_size=2)


class Runner:
    def __init__(self, plan: Plan, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.started = time.monotonic()
        self.notes: list[str] = []
        self.busy_before = 0.0

    def say(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    # -- the whole run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        plan = self.plan
        self.say(
            f"{'QUICK' if plan.quick else 'full'} run, checkout load at "
            f"{' then '.join(str(n) for n in plan.checkout_clients)} clients, other phases at "
            f"{plan.concurrency}, work dir {self.workdir}"
        )
        self.check_quiet()
        with services(self.workdir) as found, closing(engine_container(found)) as container:
            self.say(f"PostgreSQL {found.postgres['version']}, broker {found.bootstrap_servers}")
            if not found.counters_loaded:
                note = f"no statement or transaction counts: {found.counters_problem}"
                self.notes.append(note)
                self.say(f"warning: {note}")
            # The topics the relay will use, as the stack's settings name them.
            topics = create_relay_topics(container)
            create_topics(container, [CALIBRATION_TOPIC])
            self.say("measuring the probe consumer's own delay (broker ack -> receipt)")
            overhead = consumer_overhead(found.bootstrap_servers, CALIBRATION_TOPIC)
            stack = Stack(self.workdir / "stack", found.database_url, found.bootstrap_servers)
            skus = [entry["sku"] for entry in catalog_entries(plan.skus, 1)]
            reader = CounterReader(found.conninfo, found.counters_loaded)
            phases: dict[int, dict[str, Any]] = {}
            try:
                self.say("starting checkout-engine run (every role, the provider sandbox)")
                stack.start()
                stack.load_catalog(catalog_entries(plan.skus, plan.stock_per_sku))
                self.say(f"catalog loaded: {plan.skus} skus; roles {stack.role_pids()}")
                for clients in plan.checkout_clients:
                    phase = self.checkout_phase(
                        stack, found, skus, topics.confirmed, clients, reader
                    )
                    phase["outbox"]["consumer_overhead_ms"] = overhead
                    phases[clients] = phase
                top = phases[max(phases)]
                orders = top["result"].pop("orders")
                for phase in phases.values():
                    phase["result"].pop("orders", None)
                reads = self.status_phase(stack, found, orders)
                profile = self.profile_phase(stack, skus)
            finally:
                reader.close()
                self.say("stopping the stack")
                stack.stop()
            pg_base, es_base, batched = self.baselines(found)
            rebuilt = self.rebuild_phase(container, skus)
            audit = self.audit_order_phase(container)
            verified = self.audit_verify_phase(container)
            machine = machine_facts(found, REPO)
        conditions = self.conditions(found)
        return report.assemble(
            generated_at=datetime.now(UTC),
            conditions=conditions,
            checkout=top["result"],
            outbox=top["outbox"],
            projection_lag=top["lag"],
            rebuild=rebuilt,
            status_reads=reads,
            postgres_baseline=pg_base,
            eventsourcing_baseline=es_base,
            machine=machine,
            profile=profile,
            audit=audit,
            audit_verify=verified,
            by_clients={str(n): report.clients_entry(phase) for n, phase in phases.items()},
            cpu_ms_per_checkout=top["cpu_ms_per_checkout"],
            database=top["database"],
            batched_baseline=batched,
        )

    def conditions(self, found: Services | None = None) -> dict[str, Any]:
        plan = asdict(self.plan)
        clients = list(self.plan.checkout_clients)
        return {
            **plan,
            "checkout_clients": clients,
            "duration_s": self.plan.checkout_s,
            "order": (
                f"checkout load at {' then '.join(str(n) for n in clients)} clients, each "
                f"{self.plan.warmup_s:g} s warm-up + {self.plan.checkout_s:g} s measured, with "
                "the probes beside it; after each the worker drains (up to "
                f"{DRAIN_TIMEOUT_S:.0f} s); the top-level checkout, outbox and projection "
                f"figures are the {max(clients)}-client run, whose orders the status reads "
                f"poll; status reads, profile and baselines at {self.plan.concurrency} clients"
            ),
            "cart": "1-3 distinct skus of the catalog, 1-2 units each; providers alternate",
            "customers": "a new customer id (and JWT) for every checkout",
            "load_generator": (
                "its own process (multiprocessing spawn): one thread per client, closed "
                "loop, one keep-alive HTTP/1.1 connection each (http.client)"
            ),
            "rate_limits": "off (RATE_LIMIT_PER_CUSTOMER/PER_IP/READS_PER_IP=off)",
            "warmup": "requests completing during the warm-up are not counted",
            "application_names": (
                "each role's PostgreSQL connections are checkout-<role> (PGAPPNAME, set by "
                "the supervisor; the relay's lease connection checkout-relay:<name>), the "
                "bench's own checkout-bench*"
            ),
            "statement_counter": (
                "bench/pg_counters.c, preloaded"
                if found is None or found.counters_loaded
                else f"not loaded: {found.counters_problem}"
            ),
            "machine_busy_before_start": self.busy_before,
            "notes": self.notes,
            "runtime_s": round(time.monotonic() - self.started, 1),
        }

    # -- phases ------------------------------------------------------------------------------------

    def _cpu_window(self, stack: Stack, found: Services) -> CpuWindow:
        pids = dict(stack.role_pids())
        postmaster = postmaster_pid(found.conninfo)
        if postmaster is not None:
            pids["postgres"] = postmaster
        if found.broker_pid is not None:
            pids["broker"] = found.broker_pid
        pids["bench_probes"] = os.getpid()
        return CpuWindow(pids, alone=frozenset({"bench_probes"}))

    def _measure(
        self,
        spec: LoadSpec,
        window: CpuWindow,
        on_begin: Callable[[], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        pool, future = start_load(spec)
        try:
            begin, end = spec.window
            time.sleep(max(0.0, begin - time.time()))
            window.begin()
            if on_begin is not None:
                on_begin()
            time.sleep(max(0.0, end - time.time()))
            shares = window.end()
            if on_end is not None:
                on_end()
            result: dict[str, Any] = future.result()
        finally:
            pool.shutdown()
        with_outside(shares, result["load_generator_cpu"]["cpu_seconds"])
        result["cpu_by_process"] = shares
        return result

    def check_quiet(self, seconds: float = 2.0) -> None:
        """Figures taken on a busy machine mislead: measure how busy it is before starting."""
        window = CpuWindow({})
        window.begin()
        time.sleep(seconds)
        busy = window.end()[MACHINE]["of_machine"]
        self.busy_before = busy
        if busy > OUTSIDE_WARNING:
            note = f"before the run the machine was already {busy:.0%} busy"
            self.notes.append(note)
            self.say(f"warning: {note}")

    def _warn_if_busy(self, result: dict[str, Any]) -> None:
        """Other work on the machine skews every figure: say so, in the log and the JSON."""
        outside = result["cpu_by_process"].get(OUTSIDE)
        if outside and outside["of_machine"] > OUTSIDE_WARNING:
            note = (
                f"{result['mode']} phase at {result['concurrency']} clients: processes outside "
                f"the benchmark used {outside['of_machine']:.0%} of the machine"
            )
            self.notes.append(note)
            self.say(f"warning: {note}")

    def checkout_phase(
        self,
        stack: Stack,
        found: Services,
        skus: list[str],
        topic: str,
        clients: int,
        reader: CounterReader,
    ) -> dict[str, Any]:
        """One checkout load at `clients` clients: the load generator's figures (`result`),
        the probes' (`outbox`, `lag`), CPU and database work per checkout."""
        plan = self.plan
        spec = LoadSpec(
            CHECKOUT,
            stack.base_url,
            stack.jwt_secret,
            clients,
            plan.warmup_s,
            plan.checkout_s,
            time.time() + START_DELAY_S,
            skus=tuple(skus),
            label=f"load{clients}",
        )
        probes = Probes(
            base_url=stack.base_url,
            sandbox_url=stack.sandbox_url,
            jwt_secret=stack.jwt_secret,
            conninfo=found.conninfo,
            bootstrap=found.bootstrap_servers,
            topic=topic,
            skus=tuple(skus),
            interval=plan.probe_interval_s,
            window=spec.window,
            label=f"probe{clients}",
        )
        self.say(
            f"checkout load: {clients} clients, {plan.warmup_s:.0f} s warm-up + "
            f"{plan.checkout_s:.0f} s measured; probes every {plan.probe_interval_s} s"
        )
        probes.start()
        payments: list[tuple[float, int, int]] = []
        snapshots: list[Snapshot] = []
        postmaster = postmaster_pid(found.conninfo)
        backends = PostgresBackends(found.conninfo, postmaster) if postmaster is not None else None
        backend_cpu: list[dict[str, Any]] = []

        def begin() -> None:
            if backends is not None:
                backends.begin()
            snapshots.append(reader.snapshot())
            payments.append((time.monotonic(), *payment_counts(found.conninfo)))

        def end() -> None:
            snapshots.append(reader.snapshot())
            if backends is not None:
                backend_cpu.append(backends.end())
            payments.append((time.monotonic(), *payment_counts(found.conninfo)))

        result = self._measure(spec, self._cpu_window(stack, found), on_begin=begin, on_end=end)
        result["backlog"] = provider_order_backlog(payments)
        self.say(
            f"{clients} clients: {result['throughput_per_s']} checkouts/s, latency "
            f"{result['latency_ms']}, errors {result['errors']}"
        )
        self._warn_if_busy(result)
        # Before the probes' wait for the broker: that wait is not the worker's.
        self.wait_for_worker(found, result["backlog"])
        self.say("waiting for paid probe orders to reach the broker")
        found_probes = probes.finish()
        # Every checkout the engine answered 201 in the window: the load's and the probes'.
        checkouts = int(result["completed"]) + found_probes.placed_in_window
        postgres = backend_cpu[0] if backend_cpu else None
        if postgres is not None:
            result["postgres_cpu_by_role"] = postgres
        cpu = ms_per_checkout(
            result["cpu_by_process"], (postgres or {}).get("cpu_seconds", {}), checkouts
        )
        database = per_checkout(snapshots[0], snapshots[-1], checkouts)
        outbox: dict[str, Any] = {
            "latency_ms": summarise_ms(found_probes.outbox),
            "to_produce_ms": summarise_ms(found_probes.to_produce),
            "event_to_commit_ms": summarise_ms(found_probes.event_to_commit),
            "commit_to_produce_ms": summarise_ms(found_probes.commit_to_produce),
            "commit_to_broker_ms": summarise_ms(found_probes.commit_to_broker),
            "payment_to_broker_ms": summarise_ms(found_probes.pay_to_broker),
            "probe_orders_placed": found_probes.placed,
            "probe_orders_paid": found_probes.paid,
            "records_received": found_probes.confirmed,
            "measured_as": (
                "consumer receipt of the orders.confirmed record minus its ce_time header "
                "(the Order.Confirmed event's timestamp, taken just before the confirming "
                "transaction commits); receipt follows the broker's ack by one fetch "
                "(consumer_overhead_ms). to_produce_ms uses the record's CreateTime (the "
                "relay's produce call): the broker does not stamp LogAppendTime. Where the "
                "server keeps commit times, event_to_commit_ms (in the API) and "
                "commit_to_broker_ms (the outbox: the confirming commit to the record's "
                "receipt) split it at the commit, and commit_to_produce_ms is the relay's part."
            ),
            "payments": "through the provider sandbox: Stripe confirm with pm_card_visa "
            "(stripe SDK), Razorpay sandbox pay; signed webhooks to the API",
            "problems": found_probes.problems,
        }
        lag = summarise_ms(found_probes.lags)
        if lag is not None:
            lag["measured_as"] = (
                "201 response received (its transaction committed) -> the order's row "
                "first seen in payment_status_view, polled every 2 ms on its own connection"
            )
        self.say(f"outbox latency {outbox['latency_ms']}; projection lag {lag}")
        if outbox["event_to_commit_ms"] is not None:
            self.say(
                f"outbox latency split at the commit: event -> commit (API) "
                f"{outbox['event_to_commit_ms']}, commit -> produce (relay) "
                f"{outbox['commit_to_produce_ms']}, commit -> broker (the outbox) "
                f"{outbox['commit_to_broker_ms']}"
            )
        if cpu is not None:
            self.say(
                f"per checkout ({checkouts} in the window): CPU {cpu['engine_total']} ms "
                f"across the engine roles, {database['statements_per_checkout']} statements, "
                f"{database['transactions_per_checkout']} transactions, "
                f"{database['wal_fsyncs_per_checkout']} WAL fsyncs"
            )
        if found_probes.problems:
            self.say(f"probe problems: {found_probes.problems[:5]}")
        return {
            "clients": clients,
            "result": result,
            "outbox": outbox,
            "lag": lag,
            "cpu_ms_per_checkout": cpu,
            "database": database,
        }

    def wait_for_worker(self, found: Services, backlog: dict[str, Any]) -> None:
        """The next phase starts once the worker created every provider order; adds to
        `backlog` how long after the end of the checkout load that was."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            processing, _ = payment_counts(found.conninfo)
            if processing == 0:
                break
            time.sleep(0.5)
        else:
            self.notes.append(
                f"the worker had not caught up {DRAIN_TIMEOUT_S:.0f} s after a checkout load"
            )
            backlog["worker_caught_up"] = False
        ended = backlog.pop("_ended", time.monotonic())
        backlog["worker_caught_up_after_s"] = round(time.monotonic() - ended, 1)
        self.say(
            f"provider orders created at {backlog['provider_orders_per_s']}/s during the load; "
            f"{backlog['payments_processing_at_end']} payments were waiting at its end; "
            f"the worker caught up {backlog['worker_caught_up_after_s']} s after it"
        )

    def status_phase(
        self, stack: Stack, found: Services, orders: list[tuple[str, str]]
    ) -> dict[str, Any]:
        plan = self.plan
        spec = LoadSpec(
            STATUS,
            stack.base_url,
            stack.jwt_secret,
            plan.concurrency,
            plan.status_warmup_s,
            plan.status_s,
            time.time() + START_DELAY_S,
            orders=tuple(orders),
            label="poll",
        )
        self.say(
            f"status reads: {plan.concurrency} pollers over {len(orders)} orders, "
            f"{plan.status_warmup_s:.0f} s warm-up + {plan.status_s:.0f} s"
        )
        result = self._measure(spec, self._cpu_window(stack, found))
        result.pop("orders", None)
        result["orders_polled"] = len(orders)
        self.say(f"status reads: {result['throughput_per_s']}/s, latency {result['latency_ms']}")
        self._warn_if_busy(result)
        return result

    def profile_phase(self, stack: Stack, skus: list[str]) -> dict[str, Any] | None:
        plan = self.plan
        if py_spy() is None:
            self.notes.append("py-spy is not installed: no profile")
            return None
        api_pid = stack.role_pids().get("api")
        if api_pid is None:
            return None
        spec = LoadSpec(
            CHECKOUT,
            stack.base_url,
            stack.jwt_secret,
            plan.concurrency,
            3,
            plan.profile_s,
            time.time() + START_DELAY_S,
            skus=tuple(skus),
            label="profile",
        )
        wall = self.workdir / "api-profile.txt"  # --idle: wall clock
        runnable = self.workdir / "api-profile-runnable.txt"  # samples in state R only
        recorders: list[Any] = []
        cpu: dict[str, CpuTimes | None] = {}

        def begin() -> None:
            cpu["before"] = cpu_times(api_pid)
            recorders.append(record(api_pid, plan.profile_s, wall, PROFILE_RATE))
            recorders.append(record(api_pid, plan.profile_s, runnable, PROFILE_RATE, idle=False))

        def end() -> None:
            cpu["after"] = cpu_times(api_pid)

        self.say(
            f"profile: py-spy on the API (pid {api_pid}) during {plan.profile_s:.0f} s of checkouts"
        )
        result = self._measure(spec, CpuWindow({}), on_begin=begin, on_end=end)
        for process in recorders:
            process.wait(timeout=60)
        if not wall.exists():
            self.notes.append("py-spy wrote no profile (ptrace not permitted?)")
            return None
        if not runnable.exists():
            self.notes.append("py-spy wrote no runnable-only profile: no runnable_share")
        summary = {
            "tool": (
                f"py-spy record --threads --nonblocking --rate {PROFILE_RATE}, twice at once: "
                "with --idle (wall clock) and without (running or runnable); per-thread CPU "
                "and run-queue time from /proc/PID/task/TID/schedstat"
            ),
            "duration_s": plan.profile_s,
            "concurrency": plan.concurrency,
            "checkouts_per_s_while_profiled": result["throughput_per_s"],
            **summarise_files(
                wall,
                runnable if runnable.exists() else None,
                window_s=plan.profile_s,
                checkouts=result["completed"],
                cpu_before=cpu.get("before"),
                cpu_after=cpu.get("after"),
            ),
        }
        for line in headline(summary):
            self.say(f"profile: {line}")
        return summary

    def baselines(self, found: Services) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        plan = self.plan
        # The ceiling's rows are as large as the engine's own stored events, on average.
        state_bytes = mean_state_bytes(found.database_url, EVENTS_TABLE)
        results = []
        for kind in (POSTGRES, EVENTSOURCING, BATCHED):
            self.say(
                f"baseline {kind}: {plan.concurrency} clients, "
                f"{plan.baseline_warmup_s:.0f} s warm-up + {plan.baseline_s:.0f} s"
            )
            result = run_baseline(
                kind,
                found.database_url,
                plan.concurrency,
                plan.baseline_warmup_s,
                plan.baseline_s,
                **({"state_bytes": state_bytes} if state_bytes else {}),
            )
            rate = result.get("checkouts_per_s", result["per_s"])
            what = "checkouts/s" if kind == BATCHED else "/s"
            self.say(f"baseline {kind}: {rate} {what}, latency {result['latency_ms']}")
            results.append(result)
        return results[0], results[1], results[2]

    def rebuild_phase(self, container: Container, skus: list[str]) -> dict[str, Any]:
        self.say(f"rebuild: topping the log up to {self.plan.rebuild_events:,} events")
        result = measure_rebuild(container, skus, self.plan.rebuild_events, self.say)
        self.say(f"rebuild: {result['events']:,} events in {result['seconds']} s")
        return result

    def audit_order_phase(self, container: Container) -> dict[str, Any]:
        result = measure_audit_order(container, progress=self.say)
        summary = result["order_ms"] or {}
        self.say(f"audit order: p50 {summary.get('p50')} ms, p99 {summary.get('p99')} ms")
        return result

    def audit_verify_phase(self, container: Container) -> dict[str, Any]:
        # The stack's projector anchored into its data dir: verify against those anchors.
        anchors = self.workdir / "stack" / "data" / "audit" / "anchors.jsonl"
        result = measure_audit_verify(container, anchors, self.say)
        self.say(f"audit verify: {result['events']:,} events, {result['events_per_s']:,} events/s")
        return result


def main(quick: bool, concurrency: int, keep: bool, results: Path | None = None) -> int:
    # The bench's own PostgreSQL connections (probes, counts, the container's), and those
    # of the processes it spawns, are not a role's (bench.counters.category_of).
    os.environ["PGAPPNAME"] = BENCH_APP
    workdir = Path(tempfile.mkdtemp(prefix="checkout-bench-"))
    runner = Runner(Plan.make(quick, concurrency), workdir)
    ok = False
    try:
        document = runner.run()
        ok = True
    finally:
        if ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"bench: failed; logs kept in {workdir}", file=sys.stderr)
    generated = datetime.now(UTC)
    paths = report.write(document, results or RESULTS, generated)
    print(report.table(document))
    print(f"\nwritten: {', '.join(str(p) for p in paths)}")
    print(f"runtime: {document['conditions']['runtime_s']} s")
    missing = report.missing_figures(document)
    if missing:
        print(
            f"bench: these figures are missing or not positive: {', '.join(missing)}",
            file=sys.stderr,
        )
        return 1
    return 0
