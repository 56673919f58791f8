"""`checkout-engine audit verify [--anchors FILE | --from-kafka]` (adr/0015).

Recomputes the hash chain from the stored events, compares it with `audit_chain` and with
the anchors, and exits 0 only when all of it holds. Otherwise it lists what does not
hold and exits 1 with a one-line reason naming the first event (or anchor) concerned.
Anchors come from ``--anchors FILE``, from the anchor topic (``--from-kafka``), or by
default from the data dir's anchors file when there is one.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from entrypoints.bootstrap import Container, Services
from entrypoints.running_engine import data_dir_option, find_running_engine
from infrastructure.audit.anchors import Anchor, read_anchor_lines, read_kafka_anchors
from infrastructure.audit.verification import Progress, Verification, verify_chain
from infrastructure.settings import Settings

EXIT_TAMPERED = 1
PROGRESS_EVERY_S = 1.0


class Anchors:
    """The anchors to compare with, where they came from, and lines that were no anchor."""

    def __init__(self, source: str, anchors: list[Anchor], problems: list[str]) -> None:
        self.source = source
        self.anchors = anchors
        self.problems = problems


def anchors_from_file(path: Path) -> Anchors:
    with path.open(encoding="utf-8") as file:
        anchors, problems = read_anchor_lines(file)
    return Anchors(str(path), anchors, problems)


def anchors_from_kafka(bootstrap_servers: str, topic: str) -> Anchors:
    records = read_kafka_anchors({"bootstrap.servers": bootstrap_servers}, topic)
    anchors = [r for r in records if isinstance(r, Anchor)]
    problems = [r for r in records if isinstance(r, str)]
    return Anchors(f"Kafka topic {topic}", anchors, problems)


def progress_lines() -> Progress:
    """A stderr line at most every second, and one at the end."""
    shown = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal shown
        now = time.monotonic()
        if now - shown >= PROGRESS_EVERY_S or done >= total:
            shown = now
            percent = 100 if total <= 0 else min(100, done * 100 // total)
            click.echo(f"verifying the audit chain: {percent}% ({done}/{total})", err=True)

    return report


def verify_log(
    container: Container, anchors: Anchors | None = None, progress: Progress | None = None
) -> Verification:
    """Verify on the container's database, with its CHECKOUT_AUDIT_KEY (the bench's entry)."""
    container.upgrade_database()  # audit_chain and the positions (adr/0012)
    return verify_chain(
        container.app,
        container.db,
        anchors.anchors if anchors else (),
        container.audit_key,
        progress=progress,
    )


def run_verify(container: Container, anchors: Anchors | None) -> Verification:
    """Verify, then print what does not hold and a summary."""
    result = verify_log(container, anchors, progress_lines())
    for finding in result.events_findings + result.anchor_findings:
        click.echo(f"FAILED {finding.kind.value}: {finding}")
    if result.event_findings_total > len(result.events_findings):
        click.echo(f"... and {result.event_findings_total - len(result.events_findings)} more")
    for problem in anchors.problems if anchors else []:
        click.echo(f"FAILED anchor: {anchors.source if anchors else ''} {problem}")
    click.echo(summary(result, anchors))
    return result


def summary(result: Verification, anchors: Anchors | None) -> str:
    unchained = max(0, result.head - result.position)
    anchored = (
        f"{result.anchors} anchors from {anchors.source}"
        + ("" if result.signatures_checked else " (signatures not checked: no CHECKOUT_AUDIT_KEY)")
        if anchors
        else "no anchors"
    )
    return (
        f"audit chain: {result.events} events read up to {result.head}, {result.chained} "
        f"chained up to {result.position} ({unchained} not chained yet), {anchored}; "
        f"{result.seconds:.2f} s, {result.events_per_s:,.0f} events/s"
    )


def _bootstrap_servers(settings: Settings) -> str:
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    return find_running_engine(settings, needs="KAFKA_BOOTSTRAP_SERVERS").kafka_bootstrap_servers


@click.command("verify", short_help="Recompute the log's hash chain and check its anchors.")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON Lines file of anchors (default: $CHECKOUT_DATA_DIR/audit/anchors.jsonl "
    "when it exists).",
)
@click.option("--from-kafka", is_flag=True, help="Read the anchors from the anchor topic.")
@data_dir_option
@click.pass_context
def verify(ctx: click.Context, anchors_file: Path | None, from_kafka: bool) -> None:
    """Recompute the hash chain over every stored event and compare it with the chain
    table and the anchors; exit 0 only when all of it holds, 1 naming the first event or
    anchor that does not."""
    from entrypoints.cli import fail, settings_or_exit

    if anchors_file is not None and from_kafka:
        fail("--anchors and --from-kafka exclude each other")
    settings = settings_or_exit()
    lookup = ctx.obj["database_url"] if isinstance(ctx.obj, dict) else None
    url = str(lookup() if callable(lookup) else lookup)
    services = Services(url, settings.kafka_bootstrap_servers or "", "")
    container = Container(settings, services, pool_size=2)
    try:
        anchors: Anchors | None = None
        if from_kafka:
            servers = _bootstrap_servers(settings)
            try:
                anchors = anchors_from_kafka(servers, settings.kafka_topic_audit_anchors)
            except Exception as exc:  # the broker is away: no verdict, say why
                fail(f"cannot read the anchors from Kafka ({servers}): {exc}", EXIT_TAMPERED)
        elif anchors_file is not None:
            anchors = anchors_from_file(anchors_file)
        elif container.audit_anchors_file.exists():
            anchors = anchors_from_file(container.audit_anchors_file)
        result = run_verify(container, anchors)
    finally:
        container.close()
    if anchors and anchors.problems:
        fail(f"audit verify: {anchors.source} {anchors.problems[0]}", EXIT_TAMPERED)
    first = result.first
    if first is not None:
        fail(f"audit verify: {first}", EXIT_TAMPERED)
