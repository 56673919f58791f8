"""`checkout-engine audit verify` on PostgreSQL, run as people run it: an intact log passes;
an edited, deleted, inserted or moved event is named; so is an anchor the log no longer
matches and an anchor whose signature does not hold (adr/0015)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import StoredEvent
from sqlalchemy.engine import Engine

from entrypoints.bootstrap import Container, Services
from infrastructure.audit.anchors import AnchorPolicy
from infrastructure.audit.chain import GENESIS, chain_link
from infrastructure.settings import Settings, load_settings
from tests.cli import run_cli, with_database
from tests.integration.shop import TTL, Shop

KEY = "an-audit-key-of-at-least-32-bytes!"
EVENTS = "checkout_events"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings(
        PAYMENT_TTL_SECONDS=str(int(TTL.total_seconds())),
        CHECKOUT_DATA_DIR=str(data_dir),
        CHECKOUT_AUDIT_KEY=KEY,
    )


@pytest.fixture
def chained_shop(shop: Shop, container: Container, db: Engine) -> Shop:
    """A few paid orders, every event chained, and an anchor every 4 events."""
    for _ in range(3):
        shop.paid_order()
    policy = AnchorPolicy(every_events=4, every_seconds=3600)
    container.audit_chain(anchor_policy=policy, batch_size=4).catch_up()
    return shop


def verify(
    database_url: str, data_dir: Path, *args: str, key: str | None = KEY
) -> subprocess.CompletedProcess[str]:
    env = with_database(database_url)
    env["CHECKOUT_DATA_DIR"] = str(data_dir)
    env.pop("CHECKOUT_AUDIT_KEY", None)
    if key is not None:
        env["CHECKOUT_AUDIT_KEY"] = key
    return run_cli("audit", "verify", *args, env=env)


def reason(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line reason: the last line on stderr."""
    return result.stderr.strip().splitlines()[-1]


def middle_event(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT max(notification_id) / 2 FROM {EVENTS}")).one()[0])


def test_an_intact_log_verifies(chained_shop: Shop, database_url: str, data_dir: Path) -> None:
    result = verify(database_url, data_dir)

    assert result.returncode == 0, result.stderr
    assert "verifying the audit chain: 100%" in result.stderr
    head = chained_shop.app.head_position()
    assert f"{head} events read up to {head}" in result.stdout
    assert "anchors from" in result.stdout
    assert "FAILED" not in result.stdout


def test_an_edited_event_is_named(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    edited = middle_event(db)
    with db.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {EVENTS} SET state = :state WHERE notification_id = :id"),
            {"state": b'{"amount": 1}', "id": edited},
        )

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert reason(result) == (
        f"checkout-engine: error: audit verify: event {edited} was altered: its stored state "
        "no longer gives the link the chain recorded for it"
    )
    # Only that event: the ones after it still check against their own links.
    assert [line for line in result.stdout.splitlines() if "FAILED altered" in line] == [
        f"FAILED altered: event {edited} was altered: its stored state no longer gives the "
        "link the chain recorded for it"
    ]


def test_a_deleted_event_is_named(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    deleted = middle_event(db)
    with db.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {EVENTS} WHERE notification_id = :id"), {"id": deleted})

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert reason(result).startswith(
        f"checkout-engine: error: audit verify: event {deleted} was removed: the chain recorded "
    )


def test_a_deleted_tail_is_named(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    last = chained_shop.app.head_position()
    with db.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {EVENTS} WHERE notification_id >= :id"), {"id": last})

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert f"event {last} was removed" in reason(result)


def test_an_event_inserted_into_a_gap_is_named(
    shop: Shop, container: Container, db: Engine, database_url: str, data_dir: Path
) -> None:
    shop.paid_order()
    with db.begin() as conn:  # a rolled-back transaction's id: a gap in the log
        gap = int(conn.execute(sa.text(f"SELECT nextval('{EVENTS}_notification_id_seq')")).one()[0])
    shop.paid_order()
    container.audit_chain().catch_up()
    with db.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO {EVENTS} (notification_id, originator_id, originator_version,"
                " topic, state) SELECT :gap, gen_random_uuid(), 1, topic, state"
                f" FROM {EVENTS} WHERE notification_id = 1"
            ),
            {"gap": gap},
        )

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert reason(result).startswith(
        f"checkout-engine: error: audit verify: event {gap} was inserted: the chain"
    )


def test_two_events_swapped_are_caught_at_the_first(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    first = middle_event(db)
    second = first + 1
    with db.begin() as conn:
        for old, new in ((first, -1), (second, first), (-1, second)):
            conn.execute(
                sa.text(f"UPDATE {EVENTS} SET notification_id = :new WHERE notification_id = :old"),
                {"old": old, "new": new},
            )

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert reason(result).startswith(
        f"checkout-engine: error: audit verify: event {first} was altered or moved: it is "
    )


def rewrite_chain_from(db: Engine, start: int) -> None:
    """The insider's move: recompute audit_chain from ``start`` on to agree with the events."""
    with db.begin() as conn:
        previous_row = conn.execute(
            sa.text(
                "SELECT link FROM audit_chain WHERE notification_id < :id"
                " ORDER BY notification_id DESC LIMIT 1"
            ),
            {"id": start},
        ).first()
        rows = conn.execute(
            sa.text(
                f"SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM {EVENTS} WHERE notification_id >= :id ORDER BY notification_id"
            ),
            {"id": start},
        ).all()
        previous = bytes.fromhex(previous_row[0]) if previous_row else GENESIS
        for number, originator, version, topic, state in rows:
            event = StoredEvent(originator, version, topic, bytes(state))
            previous = chain_link(previous, number, event)
            conn.execute(
                sa.text("UPDATE audit_chain SET link = :link WHERE notification_id = :id"),
                {"link": previous.hex(), "id": number},
            )


def test_an_anchor_the_rewritten_log_no_longer_matches_is_reported(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    edited = middle_event(db)
    with db.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {EVENTS} SET state = :state WHERE notification_id = :id"),
            {"state": b'{"amount": 1}', "id": edited},
        )
    rewrite_chain_from(db, edited)
    anchors = [
        json.loads(line) for line in (data_dir / "audit" / "anchors.jsonl").read_text().splitlines()
    ]
    first_after = min(a["notificationId"] for a in anchors if a["notificationId"] >= edited)

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert "FAILED altered" not in result.stdout  # the chain table agrees with the events...
    assert reason(result).startswith(  # ...but not with what left the database
        f"checkout-engine: error: audit verify: anchor at {first_after} ("
    )
    assert reason(result).endswith("no longer matches: the events no longer give its link")


def test_the_same_rewrite_passes_without_anchors(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    # What the chain alone cannot prove (adr/0015): an insider who rewrites the chain too.
    edited = middle_event(db)
    with db.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {EVENTS} SET state = :state WHERE notification_id = :id"),
            {"state": b'{"amount": 1}', "id": edited},
        )
    rewrite_chain_from(db, edited)
    (data_dir / "audit" / "anchors.jsonl").unlink()

    assert verify(database_url, data_dir).returncode == 0


def test_a_tampered_anchor_signature_is_reported(
    chained_shop: Shop, database_url: str, data_dir: Path
) -> None:
    anchors_file = data_dir / "audit" / "anchors.jsonl"
    lines = anchors_file.read_text().splitlines()
    anchor = json.loads(lines[0])
    anchor["hmacSha256"] = "0" * 64
    lines[0] = json.dumps(anchor)
    copy = data_dir / "edited.jsonl"
    copy.write_text("\n".join(lines) + "\n")

    result = verify(database_url, data_dir, "--anchors", str(copy))

    assert result.returncode == 1
    assert reason(result).startswith(
        f"checkout-engine: error: audit verify: anchor at {anchor['notificationId']} ("
    )
    assert reason(result).endswith("its HMAC signature does not hold")


def test_without_the_key_signatures_are_not_checked_and_it_says_so(
    chained_shop: Shop, database_url: str, data_dir: Path
) -> None:
    result = verify(database_url, data_dir, key=None)

    assert result.returncode == 0, result.stderr
    assert "signatures not checked: no CHECKOUT_AUDIT_KEY" in result.stdout


def test_a_line_that_is_no_anchor_fails(
    chained_shop: Shop, database_url: str, data_dir: Path
) -> None:
    anchors_file = data_dir / "audit" / "anchors.jsonl"
    anchors_file.write_text(anchors_file.read_text() + "garbage\n")

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    assert "anchors.jsonl line " in reason(result)


class TestAnchorsFromKafka:
    @pytest.fixture
    def services(self, database_url: str, bootstrap_servers: str) -> Services:
        return Services(database_url, bootstrap_servers, "")

    @pytest.fixture
    def settings(self, data_dir: Path, topic_suffix: str) -> Settings:
        return load_settings(
            CHECKOUT_DATA_DIR=str(data_dir),
            CHECKOUT_AUDIT_KEY=KEY,
            KAFKA_TOPIC_AUDIT_ANCHORS=f"audit.anchors.{topic_suffix}",
        )

    def test_anchors_read_back_from_the_topic_are_checked(
        self,
        chained_shop: Shop,
        db: Engine,
        database_url: str,
        data_dir: Path,
        settings: Settings,
        bootstrap_servers: str,
    ) -> None:
        env = {
            **with_database(database_url),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "KAFKA_TOPIC_AUDIT_ANCHORS": settings.kafka_topic_audit_anchors,
            "CHECKOUT_AUDIT_KEY": KEY,
            "CHECKOUT_DATA_DIR": str(data_dir),
        }
        intact = run_cli("audit", "verify", "--from-kafka", env=env)
        assert intact.returncode == 0, intact.stderr
        assert f"anchors from Kafka topic {settings.kafka_topic_audit_anchors}" in intact.stdout
        assert ", 0 anchors" not in intact.stdout

        # The insider edits the first event and rewrites the whole chain from the genesis
        # value: the chain table agrees with the events, but not with the broker's anchors.
        with db.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE {EVENTS} SET state = :s WHERE notification_id = 1"), {"s": b"{}"}
            )
        rewrite_chain_from(db, 1)
        tampered = run_cli("audit", "verify", "--from-kafka", env=env)

        assert tampered.returncode == 1
        assert "FAILED altered" not in tampered.stdout
        assert "no longer matches: the events no longer give its link" in reason(tampered)


def test_bad_arguments_exit_2(database_url: str, data_dir: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "a.jsonl"
    anchors.write_text("")
    both = verify(database_url, data_dir, "--anchors", str(anchors), "--from-kafka")
    missing = verify(database_url, data_dir, "--anchors", str(tmp_path / "none.jsonl"))

    assert both.returncode == 2
    assert reason(both) == "checkout-engine: error: --anchors and --from-kafka exclude each other"
    assert missing.returncode == 2


def test_verifying_a_log_the_chain_never_followed_writes_nothing(
    shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    shop.paid_order()
    tracking = sa.text("SELECT name FROM projection_tracking WHERE name = 'audit_chain'")
    with db.connect() as conn:
        assert conn.execute(tracking).first() is None

    verify(database_url, data_dir)

    with db.connect() as conn:
        assert conn.execute(tracking).first() is None, "an auditor's verify wrote a row"


def test_an_edited_chain_row_is_named_and_not_the_event_after_it(
    chained_shop: Shop, db: Engine, database_url: str, data_dir: Path
) -> None:
    edited = middle_event(db)
    with db.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_chain SET link = :link WHERE notification_id = :id"),
            {"link": "00" * 32, "id": edited},
        )

    result = verify(database_url, data_dir)

    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert failed[0] == (
        f"FAILED link: the chain's link for event {edited} was edited: the event still gives "
        "the link its successor chains from"
    ), result.stdout
    assert not [line for line in failed if "FAILED altered" in line], result.stdout
