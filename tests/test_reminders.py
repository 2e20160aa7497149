"""Reminders end to end: planning from the stored cycle, the outbox, the worker, .eml files.

Every test runs on SQLite and PostgreSQL with a fixed clock that the test moves; nothing
waits for a real scheduler.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import load_config
from bot.delivery.email import FileChannel
from bot.delivery.render import Renderer
from bot.delivery.worker import OutboxWorker, RunReport
from bot.runner import build_worker
from bot.services import reminders
from bot.services.app import AppContext, open_app
from bot.services.councils import get_council, list_councils, sync_councils
from bot.services.cycle import instantiate_year, move_event
from bot.services.members import import_members
from bot.services.reminders import (
    SyncResult,
    plan_failure_reports,
    send_window,
    sync_reminders,
)
from bot.services.setup import refresh
from scheduler.clock import FixedClock
from scheduler.planner import Audience, Deadline, Escalation
from scheduler.reminders import reminder_offsets
from storage import outbox
from storage.models import Council, CycleEvent, OutboxMessage
from tests.conftest import snapshot

CPH = ZoneInfo("Europe/Copenhagen")
SENDER = "aarshjul@example.dk"
HEARING = "employment_plan_hearing"  # LBR, Tuesday 31 August 2027; members are reminded

CONFIG = """
[general]
timezone = "Europe/Copenhagen"
language = "da"

[reminders]
offsets = [14, 7, 1, 0]

[email]
backend = "file"
sender = "{sender}"
folder = "{folder}"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"
slack_channel = "rbr-test"
secretariat_email = "rbr@example.dk"
reminder_offsets = [5, 0]

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
slack_channel = "lbr-test"
secretariat_email = "lbr@example.dk"
"""

MEMBERS = """council,name,email,organisation,role,slack_id,notify,digest,language
lbr-test,Anne Formand,anne@example.dk,DA,formand,U0ANNE001,auto,,
lbr-test,Bo Begge,bo@example.dk,LO,medlem,U0BO00001,both,,
lbr-test,Carl Ingen,carl@example.dk,KL,medlem,U0CARL001,none,,
lbr-test,Dorothy English,dorothy@example.dk,DI,medlem,,email,,en
lbr-test,Erik Mail,erik@example.dk,FH,medlem,,auto,ja,
lbr-test,Sofie Sekretær,sofie@example.dk,Jobcenter,sekretær,,auto,,
rbr-test,Anne Formand,anne@example.dk,DA,medlem,U0ANNE001,auto,,
"""

#: Who hears of an LBR hearing by e-mail when there is no Slack token.
HEARING_BY_EMAIL = {
    "anne@example.dk",
    "bo@example.dk",
    "dorothy@example.dk",
    "erik@example.dk",
    "lbr@example.dk",
    "sofie@example.dk",
}


def local(y: int, m: int, d: int, hh: int = 8, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CPH)


@dataclass
class World:
    ctx: AppContext
    clock: FixedClock
    mail: Path
    first_sync: SyncResult

    def set(self, instant: datetime) -> None:
        self.clock.set(instant)

    async def sync(self, council_ids: Sequence[int] | None = None) -> SyncResult:
        async with self.ctx.db.transaction() as s:
            return await sync_reminders(s, self.ctx, council_ids)

    async def council(self, key: str) -> Council:
        async with self.ctx.db.session() as s:
            return await get_council(s, key)

    async def source(
        self, event: str = HEARING, year: int = 2027, council: str = "lbr-test"
    ) -> str:
        found = await self.council(council)
        async with self.ctx.db.session() as s:
            row = (
                await s.execute(
                    select(CycleEvent).where(
                        CycleEvent.council_id == found.id,
                        CycleEvent.year == year,
                        CycleEvent.template_key == event,
                    )
                )
            ).scalar_one()
        return f"cycle:{row.id}"

    async def rows(self, source: str | None = None) -> list[OutboxMessage]:
        async with self.ctx.db.session() as s:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if source is not None:
                query = query.where(OutboxMessage.source == source)
            return list((await s.execute(query)).scalars())

    def channel(self) -> FileChannel:
        return FileChannel(
            self.mail, sender=SENDER, reply_to="", now=self.clock.now, tz=self.ctx.tz
        )

    def worker(self, **conditions: Any) -> OutboxWorker:
        if conditions:
            return OutboxWorker(
                self.ctx.db,
                {"email": self.channel()},
                self.clock,
                Renderer(self.ctx.tz, self.ctx.calendar),
                send_window(self.ctx),
                worker_id="test-worker",
                conditions=conditions,
            )
        return build_worker(self.ctx, {"email": self.channel()}, worker_id="test-worker")

    async def drain(self, **conditions: Any) -> RunReport:
        return await self.worker(**conditions).drain()

    def emails(self) -> dict[int, EmailMessage]:
        """Every .eml written, by the outbox row id in its Message-ID."""
        found: dict[int, EmailMessage] = {}
        for path in sorted(self.mail.glob("*.eml")):
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(mail, EmailMessage)
            named = re.match(r"<aarshjul\.(\d+)\.", mail["Message-ID"])
            assert named, mail["Message-ID"]
            row_id = int(named.group(1))
            assert row_id not in found, f"two files for row {row_id}"
            found[row_id] = mail
        return found


@asynccontextmanager
async def open_world(
    database_url: str,
    tmp_path: Path,
    at: datetime,
    *,
    slack: bool = False,
    members: str = MEMBERS,
) -> AsyncIterator[World]:
    """Two councils with their 2026 and 2027 cycles, the members, and the plan synced."""
    mail = tmp_path / "mail"
    (tmp_path / "config.toml").write_text(
        CONFIG.format(sender=SENDER, folder=mail.as_posix()), encoding="utf-8"
    )
    environ = {"DATABASE_URL": database_url}
    if slack:
        environ["SLACK_BOT_TOKEN"] = "xoxb-test-token"
    config = load_config(environ=environ, cwd=tmp_path)
    clock = FixedClock(at)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        now = clock.now()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=now, actor="test")
            for council in await list_councils(s):
                for year in (2026, 2027):
                    await instantiate_year(
                        s, council, year, ctx.template, ctx.calendar, now=now, actor="test"
                    )
            report = await import_members(s, members.encode(), now=now, actor="test")
            assert report.rejected == 0, [line.text for line in report.lines]
            first = await sync_reminders(s, ctx)
        yield World(ctx=ctx, clock=clock, mail=mail, first_sync=first)


def slot(row: OutboxMessage) -> str:
    return row.key.split("/")[1]


def due_local(row: OutboxMessage) -> datetime:
    return row.due_at.astimezone(CPH)


def in_window(world: World, row: OutboxMessage) -> bool:
    here = due_local(row)
    return world.ctx.calendar.is_working_day(here.date()) and time(8) <= here.time() < time(17)


# --- planning -------------------------------------------------------------------------------


async def test_reminders_fall_on_the_planned_working_day_offsets_never_in_quiet_hours(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 1, 4, 9, 0), slack=True) as w:
        calendar, settings = w.ctx.calendar, w.ctx.config.settings
        rows = await w.rows()
        assert rows and {r.state for r in rows} == {outbox.PENDING}
        assert all(in_window(w, r) and send_window(w.ctx).allows(r.due_at) for r in rows)

        async with w.ctx.db.session() as s:
            events = {
                f"cycle:{e.id}": (e, c)
                for e, c in await s.execute(
                    select(CycleEvent, Council).join(
                        Council, col(Council.id) == CycleEvent.council_id
                    )
                )
            }
        offsets_seen: dict[str, set[int]] = defaultdict(set)
        checked = 0
        for r in rows:
            if r.kind != "reminder" or not r.source.startswith("cycle:"):
                continue  # prompts to open a cycle hearing are tested with hearings
            event, council = events[r.source]
            assert event.year == 2027  # every 2026 deadline had passed on 4 January 2027
            expected = reminder_offsets(
                w.ctx.template.events[event.template_key],
                settings.council(council.key).reminder_offsets,  # type: ignore[union-attr]
                settings.reminders.offsets,
            )
            offset = int(slot(r)[1:])
            assert offset in expected
            anchor = calendar.previous_working_day(event.date)
            assert calendar.working_days_between(due_local(r).date(), anchor) == offset
            assert due_local(r).time() == time(8, 0)
            end = event.date + timedelta(days=1)
            assert r.expires_at == local(end.year, end.month, end.day, 0, 0)
            assert r.council_id == council.id
            offsets_seen[r.group_key].add(offset)
            checked += 1
        assert checked > 100
        # Every recipient of every event gets every offset: the template event's own list
        # (annual conference, plan seminar), the RBR's [5, 0] from config.toml, else the
        # [reminders] default.
        own_lists = 0
        for group, seen in offsets_seen.items():
            event, council = events[group.split("/")[0]]
            own = w.ctx.template.events[event.template_key].reminders
            if own is not None:
                assert seen == set(own) == {10, 5, 1}, group
                own_lists += 1
            elif council.key == "rbr-test":
                assert seen == {5, 0}, group
            else:
                assert seen == {14, 7, 1, 0}, group
        assert own_lists > 0


async def test_preferences_with_slack(database_url: str, tmp_path: Path) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 2, 9, 0), slack=True) as w:
        hearing = await w.rows(await w.source())
        d14 = sorted((r.channel, r.address, r.language) for r in hearing if slot(r) == "d14")
        assert d14 == [
            ("email", "bo@example.dk", "da"),  # both: Slack and e-mail
            ("email", "dorothy@example.dk", "en"),  # email, in English
            ("email", "erik@example.dk", "da"),  # auto without a Slack id: e-mail
            ("email", "lbr@example.dk", "da"),  # the secretariat's mailbox
            ("email", "sofie@example.dk", "da"),  # the secretary
            ("slack", "#lbr-test", "da"),  # the council's channel
            ("slack", "U0ANNE001", "da"),  # auto with a Slack id: a DM
            ("slack", "U0BO00001", "da"),
        ]
        addresses = {r.address for r in hearing}
        assert not {"carl@example.dk", "U0CARL001"} & addresses  # notify = none
        assert Counter(slot(r) for r in hearing) == {s: 8 for s in ("d14", "d7", "d1", "d0")}
        # A plain deadline reminds only the channel and the secretariat.
        deadline = await w.rows(await w.source("region_comments"))
        assert {r.address for r in deadline} == {"#lbr-test", "lbr@example.dk", "sofie@example.dk"}


async def test_preferences_without_slack_use_email_only(database_url: str, tmp_path: Path) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 2, 9, 0)) as w:
        rows = await w.rows()
        assert rows and {r.channel for r in rows} == {"email"}
        hearing = await w.rows(await w.source())
        d14 = {r.address: r for r in hearing if slot(r) == "d14"}
        assert set(d14) == HEARING_BY_EMAIL
        assert d14["dorothy@example.dk"].language == "en"
        assert {r.language for a, r in d14.items() if a != "dorothy@example.dk"} == {"da"}
        assert "carl@example.dk" not in {r.address for r in rows}
        # Anne chairs the LBR and sits on the RBR: a person id on her rows, one per slot.
        anne = [r for r in hearing if r.address == "anne@example.dk"]
        assert len(anne) == 4 and len({r.person_id for r in anne}) == 1


async def test_sync_twice_inserts_nothing_the_second_time(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 1, 4, 9, 0), slack=True) as w:
        first = w.first_sync
        assert first.report.inserted == first.planned > 0
        before = await snapshot(w.ctx.db)
        again = await w.sync()
        assert again.planned == first.planned
        assert (again.report.inserted, again.report.updated, again.report.withdrawn) == (0, 0, 0)
        assert await snapshot(w.ctx.db) == before


async def test_digest_rows_for_opted_in_members(database_url: str, tmp_path: Path) -> None:
    async with open_world(database_url, tmp_path, local(2027, 3, 24, 10, 0)) as w:
        digests = [r for r in await w.rows() if r.kind == "digest"]
        assert [(r.address, r.key) for r in digests] == [
            ("erik@example.dk", f"digest:person:{digests[0].person_id}/w2027-13/email")
        ]
        # Easter Monday 29 March 2027 is closed: Tuesday 08:00 (summer time) instead.
        assert digests[0].due_at == local(2027, 3, 30, 8, 0)


# --- delivery -------------------------------------------------------------------------------


async def test_moving_a_deadline_replans_without_resending(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 10, 12, 0)) as w:
        source = await w.source()
        w.set(local(2027, 8, 11, 8, 0))  # the 14-day reminders of 31 August are due
        report = await w.drain()
        assert report.sent > 0
        sent = {r.id: r for r in await w.rows(source) if r.state == outbox.SENT}
        assert {slot(r) for r in sent.values()} == {"d14"}
        assert {r.address for r in sent.values()} == HEARING_BY_EMAIL
        assert {r.sent_at for r in sent.values()} == {local(2027, 8, 11, 8, 0)}
        files = w.emails()
        assert set(sent) <= set(files)

        # Move the hearing to Friday 10 September, re-planning in the same transaction.
        w.set(local(2027, 8, 11, 10, 0))
        async with w.ctx.db.transaction() as s:
            lbr = await get_council(s, "lbr-test")
            await move_event(
                s,
                lbr,
                2027,
                HEARING,
                date(2027, 9, 10),
                "Rådsmødet er flyttet",
                w.ctx.template,
                w.ctx.calendar,
                now=w.clock.now(),
                actor="test",
            )
            result = await sync_reminders(s, w.ctx, [lbr.id or 0])
        assert result.report.inserted == 0
        assert result.report.updated >= 3 * len(HEARING_BY_EMAIL)

        after = await w.rows(source)
        for r in after:
            if r.id in sent:
                assert r.state == outbox.SENT
                assert r.sent_at == sent[r.id].sent_at
                assert r.due_at == sent[r.id].due_at
                continue
            assert r.state == outbox.PENDING
            offset = int(slot(r)[1:])
            expected = w.ctx.calendar.shift_working_days(date(2027, 9, 10), -offset)
            assert due_local(r) == local(expected.year, expected.month, expected.day, 8, 0)
            assert '"deadline": "2027-09-10"' in r.payload
        assert {due_local(r).date() for r in after if slot(r) == "d7"} == {date(2027, 9, 1)}

        # Delivering again sends nothing more of the hearing: no second file for anyone.
        await w.drain()
        assert [r.id for r in await w.rows(source) if r.state == outbox.SENT] == sorted(sent)
        hearing_files = {i for i in w.emails() if i in {r.id for r in after}}
        assert hearing_files == set(sent)
        assert {i: files[i].as_bytes() for i in sent} == {i: w.emails()[i].as_bytes() for i in sent}


async def test_downtime_sends_only_the_newest_missed_reminder_and_never_after_the_deadline(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 10, 10, 0)) as w:
        source = await w.source()
        # Down from before the 14-day reminder (11 Aug) until after the 7-day one (20 Aug).
        w.set(local(2027, 8, 20, 9, 0))
        first = await w.drain()
        assert first.sent > 0
        rows = await w.rows(source)
        by_slot = defaultdict(list)
        for r in rows:
            by_slot[slot(r)].append(r)
        assert {r.state for r in by_slot["d7"]} == {outbox.SENT}
        assert {r.state for r in by_slot["d14"]} == {outbox.SKIPPED}
        assert all((r.last_error or "").startswith("superseded") for r in by_slot["d14"])
        assert {r.state for r in by_slot["d1"] + by_slot["d0"]} == {outbox.PENDING}
        # Exactly one message per recipient for this deadline.
        mine = {r.id for r in rows}
        to = Counter(m["To"] for i, m in w.emails().items() if i in mine)
        assert to == dict.fromkeys(HEARING_BY_EMAIL, 1)

        again = await w.drain()
        assert (again.claimed, again.sent, again.skipped) == (0, 0, 0)

        # Down again until after the deadline: the rest is stale, nothing of it is sent.
        w.set(local(2027, 9, 1, 9, 0))
        files_before = set(w.emails())
        await w.drain()
        rows = await w.rows(source)
        late = [r for r in rows if slot(r) in ("d1", "d0")]
        assert len(late) == 2 * len(HEARING_BY_EMAIL)
        for r in late:
            assert r.state == outbox.SKIPPED
            assert "stale" in (r.last_error or "")
            assert r.sent_at is None
        assert not (set(w.emails()) - files_before) & mine


async def test_quiet_hours_hold_catch_up_until_the_next_working_morning(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 19, 10, 0)) as w:
        source = await w.source()
        w.set(local(2027, 8, 20, 20, 0))  # Friday evening; the 7-day reminders were due at 8
        worker = w.worker()
        report = await worker.drain()
        assert (report.claimed, report.sent) == (0, 0)
        # The timer is to wake the worker on Monday morning, not at once.
        assert await worker.next_wakeup() == local(2027, 8, 23, 8, 0)
        assert not w.emails()
        d7 = [r for r in await w.rows(source) if slot(r) == "d7"]
        assert {r.state for r in d7} == {outbox.PENDING} and len(d7) == len(HEARING_BY_EMAIL)

        w.set(local(2027, 8, 22, 12, 0))  # Sunday noon: still quiet
        assert (await w.drain()).claimed == 0

        w.set(local(2027, 8, 23, 8, 0))  # Monday morning
        report = await w.drain()
        d7 = [r for r in await w.rows(source) if slot(r) == "d7"]
        assert {r.state for r in d7} == {outbox.SENT}
        assert {r.sent_at for r in d7} == {local(2027, 8, 23, 8, 0)}
        assert report.sent >= len(d7)


async def test_next_wakeup_is_the_next_due_row_in_working_hours(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 19, 10, 0)) as w:
        worker = w.worker()
        await worker.drain()
        # Everything due is done; the next are the 7-day reminders on Friday at 08:00.
        assert await worker.next_wakeup() == local(2027, 8, 20, 8, 0)


async def test_emails_parse_with_headers_parts_and_danish_dates(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 19, 10, 0)) as w:
        source = await w.source()
        w.set(local(2027, 8, 20, 9, 0))
        await w.drain()
        rows = {r.id: r for r in await w.rows(source) if r.state == outbox.SENT}
        assert {slot(r) for r in rows.values()} == {"d7"}
        files = w.emails()
        for row_id, row in rows.items():
            mail = files[row_id or 0]
            assert mail["From"] == SENDER
            assert mail["To"] == row.address
            assert mail["Message-ID"] == row.external_id
            assert mail["Auto-Submitted"] == "auto-generated"
            assert mail.get_content_type() == "multipart/alternative"
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
            if row.language == "en":
                assert mail["Subject"] == (
                    "Reminder: Hearing deadline: employment plan in the LBR"
                    " – Tuesday 31 August 2027"
                )
                assert "Tuesday 31 August 2027 – in 7 working days" in text
                continue
            assert mail["Subject"] == (
                "Påmindelse: Høringsfrist: beskæftigelsesplanen i LBR – tirsdag den 31. august 2027"
            )
            assert "har svarfrist tirsdag den 31. august 2027 – om 7 arbejdsdage." in text
            assert "tirsdag den 31. august 2027" in html and html.startswith("<!DOCTYPE html>")
            assert "*" not in text  # Slack's bold markers stay out of e-mail
            footer = "Du får denne besked" if row.person_id else "Sendt til sekretariatet"
            assert footer in text
        assert {r.language for r in rows.values()} == {"da", "en"}


async def test_failure_report_goes_to_the_secretariat_once_a_day(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 11, 9, 0)) as w:
        lbr = await w.council("lbr-test")

        async def fail_one(now: datetime) -> OutboxMessage:
            """Claim a reminder due at 08:00, record it failed (give back any others)."""
            async with w.ctx.db.transaction() as s:
                claimed = await outbox.claim(
                    s,
                    worker="w",
                    now=local(2027, 8, 11, 8, 0),
                    lease=timedelta(minutes=5),
                    limit=1,
                    channels=["email"],
                    quiet_allowed=True,
                )
                first = next(r for r in claimed if r.council_id == lbr.id)
                outcomes = [
                    outbox.Outcome(
                        r.id or 0,
                        outbox.FAILED if r is first else outbox.PENDING,
                        "550 5.1.1 no such user" if r is first else None,
                    )
                    for r in claimed
                ]
                await outbox.record(s, outcomes, worker="w", now=now)
            return first

        async def report() -> int:
            async with w.ctx.db.transaction() as s:
                return await plan_failure_reports(s, w.ctx)

        failed = await fail_one(w.clock.now())
        assert await report() == 1
        reports = [r for r in await w.rows() if r.kind == "report"]
        assert len(reports) == 1
        rep = reports[0]
        assert rep.address == "lbr@example.dk" and rep.channel == "email"
        assert rep.council_id == lbr.id and rep.state == outbox.PENDING
        assert rep.key == f"report:failed:{lbr.id}:2027-08-11"
        assert f'"failed_ids": [{failed.id}]' in rep.payload
        assert rep.due_at == w.clock.now()
        stored = {r.id: r for r in await w.rows()}
        assert stored[failed.id].reported_at == w.clock.now()

        # Again the same day: nothing new, even with a new failure (it waits for tomorrow).
        assert await report() == 0
        w.set(local(2027, 8, 11, 11, 0))
        second = await fail_one(w.clock.now())
        assert await report() == 0
        assert [r.id for r in await w.rows() if r.kind == "report"] == [rep.id]
        assert {r.id: r for r in await w.rows()}[second.id].reported_at is None

        # The report itself is delivered and names the failed row.
        await w.drain()
        mail = w.emails()[rep.id or 0]
        assert mail["To"] == "lbr@example.dk"
        assert mail["Subject"] == "Beskeder der ikke kunne leveres – LBR Test"
        body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"#{failed.id} · email til {failed.address}: 550 5.1.1 no such user" in body

        # The next day the second failure gets its own report.
        w.set(local(2027, 8, 12, 7, 0))
        assert await report() == 1
        new = [r for r in await w.rows() if r.kind == "report" and r.id != rep.id]
        assert [r.key for r in new] == [f"report:failed:{lbr.id}:2027-08-12"]
        assert f'"failed_ids": [{second.id}]' in new[0].payload
        assert new[0].due_at == local(2027, 8, 12, 8, 0)  # out of quiet hours


class TwoHearings:
    """A source of two hearings with a conditional escalation two working days before."""

    prefix = "hearing:"

    def __init__(self, day: date) -> None:
        self.day = day

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]:
        lbr = await get_council(session, "lbr-test")
        if lbr.id not in council_ids:
            return []
        return [
            Deadline(
                source=f"hearing:{n}",
                council_id=lbr.id or 0,
                day=self.day,
                offsets=(),
                audiences=frozenset({Audience.MEMBERS}),
                message="reminder",
                params={
                    "council": lbr.name,
                    "title_da": f"Høring {n}",
                    "title_en": f"Hearing {n}",
                    "type": "hearing",
                    "owner": "LBR",
                },
                escalations=(Escalation(working_days=2, condition="short_of_answers"),),
            )
            for n in (1, 2)
        ]


@asynccontextmanager
async def hearing_source(day: date) -> AsyncIterator[None]:
    source = TwoHearings(day)
    reminders.SOURCES.append(source)
    try:
        yield
    finally:
        reminders.SOURCES.remove(source)


async def test_escalation_is_sent_only_when_its_condition_holds(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        open_world(database_url, tmp_path, local(2027, 8, 25, 10, 0)) as w,
        hearing_source(date(2027, 8, 31)),
    ):
        result = await w.sync()
        rows = [r for r in await w.rows() if r.source.startswith("hearing:")]
        # The chair (Anne) and the secretariat (its mailbox and Sofie), per hearing.
        assert result.report.inserted == len(rows) == 6
        for r in rows:
            assert r.kind == "escalation" and r.condition == "short_of_answers"
            assert slot(r) == "e2"
            assert due_local(r) == local(2027, 8, 27, 8, 0)
        assert {r.address for r in rows} == {
            "anne@example.dk",
            "lbr@example.dk",
            "sofie@example.dk",
        }
        asked: list[str] = []

        async def short_of_answers(session: AsyncSession, row: OutboxMessage) -> bool:
            asked.append(row.key)
            return row.source == "hearing:2"

        w.set(local(2027, 8, 26, 9, 0))
        await w.drain(short_of_answers=short_of_answers)
        assert asked == []  # not due yet

        w.set(local(2027, 8, 27, 8, 0))
        await w.drain(short_of_answers=short_of_answers)
        assert sorted(asked) == sorted(r.key for r in rows)
        after = {r.id: r for r in await w.rows() if r.source.startswith("hearing:")}
        files = w.emails()
        for row_id, r in after.items():
            if r.source == "hearing:1":
                assert r.state == outbox.SKIPPED
                assert r.last_error == "condition short_of_answers does not hold"
                assert row_id not in files
            else:
                assert r.state == outbox.SENT
                mail = files[row_id or 0]
                assert mail["Subject"] == "Opfølgning: Høring 2 – tirsdag den 31. august 2027"
                body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                assert "der mangler stadig høringssvar fra medlemmer" in body
        # Re-planning leaves the decided rows alone.
        again = await w.sync()
        assert (again.report.inserted, again.report.updated) == (0, 0)


async def test_escalation_with_an_unknown_condition_fails(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        open_world(database_url, tmp_path, local(2027, 8, 25, 10, 0)) as w,
        hearing_source(date(2027, 8, 31)),
    ):
        await w.sync()
        w.set(local(2027, 8, 27, 8, 0))

        async def unrelated(*_: Any) -> bool:
            return True

        report = await w.drain(unrelated=unrelated)  # short_of_answers is not among them
        rows = [r for r in await w.rows() if r.source.startswith("hearing:")]
        assert {r.state for r in rows} == {outbox.FAILED}
        assert {r.last_error for r in rows} == {"unknown condition 'short_of_answers'"}
        assert report.failed == 6
        assert not set(w.emails()) & {r.id for r in rows}


# --- bugs ----------------------------------------------------------------------------------


async def test_a_changed_language_reaches_pending_reminders(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 2, 9, 0)) as w:
        source = await w.source()
        erik = [r for r in await w.rows(source) if r.address == "erik@example.dk"]
        assert {r.language for r in erik} == {"da"}
        async with w.ctx.db.transaction() as s:
            await import_members(
                s,
                b"council,name,email,organisation,role,language\n"
                b"lbr-test,Erik Mail,erik@example.dk,FH,medlem,en\n",
                now=w.clock.now(),
                actor="test",
            )
            await sync_reminders(s, w.ctx)
        erik = [r for r in await w.rows(source) if r.address == "erik@example.dk"]
        assert {r.language for r in erik} == {"en"}


async def test_a_deactivated_council_gets_no_more_reminders(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 8, 10, 10, 0)) as w:
        lbr = await w.council("lbr-test")
        rbr_only = tuple(c for c in w.ctx.config.settings.councils if c.key == "rbr-test")
        async with w.ctx.db.transaction() as s:
            synced = await sync_councils(s, rbr_only, now=w.clock.now(), actor="test")
            assert synced.deactivated == ["lbr-test"]
            await sync_reminders(s, w.ctx)
        w.set(local(2027, 8, 11, 8, 0))
        await w.drain()
        lbr_rows = [r for r in await w.rows() if r.council_id == lbr.id]
        assert lbr_rows
        assert not [r for r in lbr_rows if r.state in (outbox.PENDING, outbox.SENT)]


async def test_the_digest_after_easter_monday_survives_tuesdays_daily_replan(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, tmp_path, local(2027, 3, 24, 10, 0)) as w:
        w.set(local(2027, 3, 30, 6, 0))  # the daily re-plan on Tuesday morning
        await refresh(w.ctx, actor="daily")
        w.set(local(2027, 3, 30, 8, 0))
        await w.drain()
        digests = {r.key.split("/")[1]: r for r in await w.rows() if r.kind == "digest"}
        assert digests["w2027-13"].state == outbox.SENT
