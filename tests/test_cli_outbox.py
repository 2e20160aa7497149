"""``aarshjul remind plan|sync`` and ``aarshjul outbox status|retry`` with a fixed clock."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from scheduler.planner import Kind, PlannedNotification
from storage import outbox
from storage.db import Database
from storage.models import AuditLog, Council, OutboxMessage
from tests.cli_runner import CLOCK
from tests.cli_runner import Cli as BaseCli
from tests.conftest import REPO, run_sync, snapshot_url

CPH = ZoneInfo("Europe/Copenhagen")
T = TypeVar("T")


class Cli(BaseCli):
    """The CLI runner with an e-mail folder of its own and no Slack token."""

    def __init__(self, database_url: str, config: Path, mail: Path) -> None:
        super().__init__(
            database_url, config, AARSHJUL__EMAIL__FOLDER=str(mail), SLACK_BOT_TOKEN=None
        )
        self.mail = mail

    def db(self, work: Callable[[Database], Awaitable[T]]) -> T:
        async def go() -> T:
            database = Database(self.url)
            try:
                return await work(database)
            finally:
                await database.dispose()

        return run_sync(go)

    def rows(self) -> list[OutboxMessage]:
        async def work(database: Database) -> list[OutboxMessage]:
            async with database.session() as s:
                found = await s.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
                return list(found.scalars())

        return self.db(work)

    def change(self, statement: Any) -> None:
        async def work(database: Database) -> None:
            async with database.transaction() as s:
                await s.execute(statement)

        self.db(work)


@pytest.fixture
def ready(database_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    cli = Cli(database_url, config, tmp_path / "mail")
    cli.ok("init")  # also plans every council's reminders
    return cli


def _failed_row(cli: Cli) -> OutboxMessage:
    """Make the first pending row a failed one, as the worker would after 8 attempts."""
    row = next(r for r in cli.rows() if r.state == outbox.PENDING)
    cli.change(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row.id)
        .values(state=outbox.FAILED, attempts=8, last_error="550 5.1.1 unknown user")
    )
    return row


# --- remind plan ------------------------------------------------------------------------


def test_remind_plan_until_prints_the_rows_and_sends_nothing(ready: Cli) -> None:
    before = snapshot_url(ready.url)
    out = ready.ok("remind", "plan", "--until", "2026-12-31")
    lines = out.splitlines()
    assert lines[0].split() == ["Sendes", "Slags", "Kanal", "Til", "Om", "Frist", "Status"]
    assert set(lines[1]) <= {"-", " "}
    body = [line for line in lines[2:-1] if line.strip()]
    assert body
    assert lines[-1] == f"{len(body)} besked(er)."
    for line in body:
        due = datetime.strptime(line[:16], "%d.%m.%Y %H:%M")
        assert due.date() <= date(2026, 12, 31)
        assert due.hour >= 8 and due.hour < 17
        assert line.rstrip().endswith("venter")  # init planned them
    assert any("jobcenter@gribskov.example.dk" in line for line in body)
    # Nothing was sent, written or changed.
    assert snapshot_url(ready.url) == before
    assert {r.state for r in ready.rows()} == {outbox.PENDING}
    assert not ready.mail.exists() or not any(ready.mail.iterdir())


def test_remind_plan_in_english(ready: Cli) -> None:
    out = ready.ok("remind", "plan", "--until", "2026-12-31", AARSHJUL__GENERAL__LANGUAGE="en")
    headers = ["Due", "Kind", "Channel", "To", "About", "Deadline", "State"]
    assert out.splitlines()[0].split() == headers
    assert "pending" in out


def test_remind_plan_json_matches_the_outbox(ready: Cli) -> None:
    before = snapshot_url(ready.url)
    until = date(2026, 12, 31)
    data = json.loads(ready.ok("remind", "plan", "--until", until.isoformat(), "--json"))
    assert data
    for item in data:
        assert {"due", "channel", "to", "state", "kind", "key", "deadline"} <= set(item)
        due = datetime.fromisoformat(item["due"])
        assert due.utcoffset() == CPH.utcoffset(due.replace(tzinfo=None))
        assert due.date() <= until
        assert item["channel"] in ("email", "slack")
        assert item["state"] == "pending"
        assert item["overdue"] is (due < CLOCK.now())
    # Exactly the pending rows due by then, with their addresses.
    expected = {
        (r.key, r.address, r.channel)
        for r in ready.rows()
        if r.due_at.astimezone(CPH).date() <= until
    }
    assert {(i["key"], i["to"], i["channel"]) for i in data} == expected
    everything = json.loads(ready.ok("remind", "plan", "--json"))
    assert len(everything) == len(ready.rows()) > len(data)
    assert snapshot_url(ready.url) == before


def test_remind_plan_bad_until_is_refused(ready: Cli) -> None:
    ready.refused("remind", "plan", "--until", "notadate", says=("'notadate' er ikke en dato",))
    ready.refused("remind", "plan", "--until", "31-12-2026", "--json", says=("'31-12-2026'",))


def test_remind_plan_leaves_out_sent_rows(ready: Cli) -> None:
    first = next(r for r in ready.rows() if r.due_at.astimezone(CPH).date() <= date(2026, 12, 31))
    ready.change(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == first.id)
        .values(state=outbox.SENT, sent_at=CLOCK.now())
    )
    data = json.loads(ready.ok("remind", "plan", "--until", "2026-12-31", "--json"))
    assert first.key not in {i["key"] for i in data}


# --- remind sync --------------------------------------------------------------------------

SYNC = re.compile(
    r"Påmindelser planlagt: (\d+) i alt; (\d+) nye, (\d+) flyttet, (\d+) trukket tilbage\."
)


def _sync(cli: Cli) -> tuple[int, ...]:
    found = SYNC.search(cli.ok("remind", "sync"))
    assert found, "no counts printed"
    return tuple(int(n) for n in found.groups())


def test_remind_sync_prints_the_counts(ready: Cli) -> None:
    rows = ready.rows()
    assert _sync(ready) == (len(rows), 0, 0, 0)  # init planned everything already

    # Three rows lost, two moved by hand, one left over from an event that is gone.
    lost = [r.id for r in rows[:3]]
    moved = [r.id for r in rows[3:5]]
    ready.change(delete(OutboxMessage).where(col(OutboxMessage.id).in_(lost)))
    ready.change(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(moved))
        .values(due_at=CLOCK.now() + timedelta(days=400))
    )

    async def leftover(database: Database) -> None:
        async with database.transaction() as s:
            council = (await s.execute(select(Council).where(Council.key == "ber"))).scalar_one()
            stray = PlannedNotification(
                key="cycle:999999/d0/email/council:1:secretariat",
                group_key="cycle:999999/reminder/email/council:1:secretariat",
                kind=Kind.REMINDER,
                source="cycle:999999",
                council_id=council.id,
                person_id=None,
                channel="email",
                address="ber-sekretariat@example.dk",
                language="da",
                message="reminder",
                params={"deadline": "2027-01-05"},
                due_at=CLOCK.now() + timedelta(days=30),
                expires_at=CLOCK.now() + timedelta(days=40),
            )
            assert await outbox.enqueue(s, [stray], now=CLOCK.now()) == 1

    ready.db(leftover)
    assert _sync(ready) == (len(rows), 3, 2, 1)
    after = {r.key: r for r in ready.rows()}
    assert {r.key for r in rows} <= set(after)
    assert {after[r.key].due_at for r in rows[3:5]} == {r.due_at for r in rows[3:5]}
    stray = after["cycle:999999/d0/email/council:1:secretariat"]
    assert stray.state == outbox.SKIPPED and (stray.last_error or "").startswith("withdrawn")
    assert _sync(ready) == (len(rows), 0, 0, 0)


# --- outbox status ------------------------------------------------------------------------


def test_outbox_status_shows_the_counts(ready: Cli) -> None:
    rows = ready.rows()
    pending = len(rows)
    due = [r for r in rows if r.due_at <= CLOCK.now()]
    out = ready.ok("outbox", "status")
    assert f"Udbakke: {pending} venter, 0 sendes, 0 sendt, 0 fejlet, 0 sprunget over." in out
    backlog = f"{len(due)} (den ældste forfaldt for " if due else "ingen."
    assert f"Forfaldne og ikke sendt: {backlog}" in out
    assert "Fejlede beskeder" not in out

    failed = _failed_row(ready)
    out = ready.ok("outbox", "status")
    assert f"Udbakke: {pending - 1} venter, 0 sendes, 0 sendt, 1 fejlet, 0 sprunget over." in out
    assert "Fejlede beskeder:" in out
    line = next(line for line in out.splitlines() if line.startswith(f"{failed.id} "))
    assert failed.address in line and "550 5.1.1 unknown user" in line and " 8 " in line
    assert "aarshjul outbox retry ID" in out

    data = json.loads(ready.ok("outbox", "status", "--json"))
    assert data["counts"] == {
        "pending": pending - 1,
        "sending": 0,
        "sent": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert [f["id"] for f in data["failed"]] == [failed.id]
    assert data["failed"][0]["attempts"] == 8


# --- outbox retry -------------------------------------------------------------------------


def test_retry_unknown_id_is_refused(ready: Cli) -> None:
    ready.refused("outbox", "retry", "999999", says=("ingen besked med id 999999",))


def test_retry_of_a_pending_row_is_refused(ready: Cli) -> None:
    row = ready.rows()[0]
    ready.refused(
        "outbox",
        "retry",
        str(row.id),
        says=(f"besked {row.id} har status 'pending'",),
    )


def test_retry_of_a_failed_row_sends_it_again_and_is_audited(ready: Cli) -> None:
    failed = _failed_row(ready)
    before = snapshot_url(ready.url)
    out = ready.ok("outbox", "retry", str(failed.id), "--by", "Sofie")
    assert f"Besked {failed.id} til {failed.address} er lagt i udbakken igen. Intet " in out

    row = next(r for r in ready.rows() if r.id == failed.id)
    assert row.state == outbox.PENDING
    assert row.due_at == CLOCK.now()
    assert row.attempts == 0 and row.quiet is False
    assert row.updated_at == CLOCK.now()
    # Only that row and the audit log changed.
    after = snapshot_url(ready.url)
    assert len(after["outbox"]) == len(before["outbox"])
    changed = [a for a, b in zip(after["outbox"], before["outbox"], strict=True) if a != b]
    assert [c[0] for c in changed] == [failed.id]
    assert {k: v for k, v in after.items() if k not in ("outbox", "audit_log")} == {
        k: v for k, v in before.items() if k not in ("outbox", "audit_log")
    }

    async def audit(database: Database) -> list[AuditLog]:
        async with database.session() as s:
            found = await s.execute(select(AuditLog).where(AuditLog.action == "outbox.retry"))
            return list(found.scalars())

    [entry] = ready.db(audit)
    assert entry.actor == "Sofie"
    assert entry.entity == "outbox" and entry.entity_id == str(failed.id)
    assert entry.at == CLOCK.now()
    details = json.loads(entry.details)
    assert details == {"key": failed.key, "previous_state": "failed"}

    # Now pending, it can be retried no more.
    ready.refused(
        "outbox", "retry", str(failed.id), says=(f"besked {failed.id} har status 'pending'",)
    )


def test_run_refuses_a_bad_log_format_or_level_before_starting(ready: Cli) -> None:
    ready.refused("run", "--log-format", "xml", says=("--log-format skal være text eller json",))
    ready.refused("run", "--log-level", "loud", says=("--log-level skal være en af DEBUG",))


def test_outbox_status_lists_the_workers_with_last_seen_and_rows_held(ready: Cli) -> None:
    now = CLOCK.now()

    async def work(database: Database) -> None:
        async with database.transaction() as s:
            await outbox.heartbeat(s, worker="box:41:a1b2c3d4", host="box", pid=41, now=now)
            await outbox.heartbeat(
                s, worker="box:42:e5f6a7b8", host="box", pid=42, now=now - timedelta(seconds=12)
            )

    ready.db(work)
    held = [r.id for r in ready.rows()[:3]]
    ready.change(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(held))
        .values(state=outbox.SENDING, claimed_by="box:41:a1b2c3d4")
    )
    out = ready.ok("outbox", "status")
    assert "Arbejdere (udbakkens afsendere):" in out
    first = next(line for line in out.splitlines() if line.startswith("box:41:a1b2c3d4"))
    assert "for 0 s siden" in first and first.rstrip().endswith(" 3")
    second = next(line for line in out.splitlines() if line.startswith("box:42:e5f6a7b8"))
    assert "for 12 s siden" in second and second.rstrip().endswith(" 0")

    data = json.loads(ready.ok("outbox", "status", "--json"))
    assert [(w["id"], w["rows_held"], w["last_seen_age_seconds"]) for w in data["workers"]] == [
        ("box:41:a1b2c3d4", 3, 0.0),
        ("box:42:e5f6a7b8", 0, 12.0),
    ]
    assert data["workers"][0]["pid"] == 41 and data["workers"][0]["host"] == "box"
