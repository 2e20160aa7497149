"""Reminders of the cycle with an injected clock: offsets, quiet hours, moves, downtime.

The data is what a secretariat has: a config.toml, a members CSV, the shipped
template. E-mail goes to .eml files, Slack to the loopback stand-in; the clock
is a FixedClock that the tests move.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.config import load_config
from bot.delivery.email import FileChannel
from bot.delivery.slack import SlackChannel
from bot.runner import build_worker
from bot.services.app import AppContext, open_app
from bot.services.councils import get_council
from bot.services.cycle import move_event
from bot.services.members import import_members
from bot.services.reminders import sync_reminders
from bot.services.setup import prepare, refresh
from scheduler.clock import FixedClock
from storage.models import CycleEvent, OutboxMessage
from tests.servers import SlackStandIn

CPH = ZoneInfo("Europe/Copenhagen")
EVENT = "result_review_hearing"  # 16 June 2027, a hearing: channel, members, secretariat

CONFIG = """
[email]
backend = "file"
folder = "{folder}"
sender = "aarshjul@example.dk"

[[councils]]
key = "rbr-syddanmark"
kind = "RBR"
name = "RBR Syddanmark"
secretariat_email = "rbr-syd@example.dk"

[[councils]]
key = "lbr-odense"
kind = "LBR"
name = "LBR Odense"
region = "rbr-syddanmark"
slack_channel = "lbr-odense"
secretariat_email = "jobcenter@odense.example.dk"
"""

MEMBERS = """council,name,email,organisation,role,slack_id,notify,digest,language
lbr-odense,Anna Formand,anna@example.dk,DA,formand,U0000AAA,,,
lbr-odense,Bo Medlem,bo@example.dk,LO,medlem,U0000BBB,both,,en
lbr-odense,Cai Medlem,cai@example.dk,KL,medlem,,,,
lbr-odense,Dorte Medlem,dorte@example.dk,FTF,medlem,U0000DDD,none,,
"""


def local(day: date, at: time = time(8, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=CPH).astimezone(UTC)


@pytest.fixture
async def app(database_url: str, tmp_path: Path, slack: SlackStandIn) -> AsyncIterator[AppContext]:
    folder = tmp_path / "mail"
    (tmp_path / "config.toml").write_text(CONFIG.format(folder=folder), encoding="utf-8")
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
    }
    config = load_config(environ=environ, cwd=tmp_path)
    clock = FixedClock(local(date(2027, 1, 4), time(9, 0)))
    async with open_app(config, clock) as ctx:
        await prepare(ctx, [2027], actor="test")
        async with ctx.db.transaction() as session:
            report = await import_members(session, MEMBERS.encode(), now=clock.now(), actor="test")
            assert report.rejected == 0, report.lines
            await sync_reminders(session, ctx)
        yield ctx


@pytest.fixture
async def channels(app: AppContext, slack: SlackStandIn) -> AsyncIterator[dict[str, object]]:
    email = app.config.settings.email
    ctx = app
    made = {
        "email": FileChannel(
            Path(email.folder), sender=email.sender, reply_to="", now=ctx.clock.now, tz=CPH
        ),
        # Per-channel pacing runs on the test's clock: no real waiting.
        "slack": SlackChannel(
            "xoxb-test", slack.base_url, monotonic=lambda: ctx.clock.now().timestamp()
        ),
    }
    yield made
    await made["slack"].close()  # type: ignore[attr-defined]


def mail_files(ctx: AppContext) -> list[Path]:
    return sorted(Path(ctx.config.settings.email.folder).glob("*.eml"))


async def event_rows(ctx: AppContext, key: str = EVENT) -> tuple[CycleEvent, list[OutboxMessage]]:
    async with ctx.db.session() as session:
        council = await get_council(session, "lbr-odense")
        event = (
            await session.execute(
                select(CycleEvent).where(
                    CycleEvent.council_id == council.id,
                    CycleEvent.template_key == key,
                    CycleEvent.year == 2027,
                )
            )
        ).scalar_one()
        rows = (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.source == f"cycle:{event.id}")
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
            )
        ).scalars()
        return event, list(rows)


def slot(row: OutboxMessage) -> int:
    return int(row.key.split("/")[1][1:])


async def test_every_reminder_falls_on_its_working_day_offset_at_eight(app: AppContext) -> None:
    async with app.db.session() as session:
        rows = list(
            (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.kind == "reminder",
                        # Prompts to open a cycle hearing have their own test.
                        col(OutboxMessage.source).startswith("cycle:"),
                    )
                )
            ).scalars()
        )
        events = {f"cycle:{e.id}": e for e in (await session.execute(select(CycleEvent))).scalars()}
    assert len(rows) > 100
    for row in rows:
        event = events[row.source]
        due = row.due_at.astimezone(CPH)
        assert due.time() == time(8, 0), row.key
        assert app.calendar.is_working_day(due.date()), row.key
        anchor = app.calendar.previous_working_day(event.date)
        assert app.calendar.working_days_between(due.date(), anchor) == slot(row), row.key


async def test_who_gets_what_follows_role_and_preference(app: AppContext) -> None:
    _, rows = await event_rows(app)
    at_seven = Counter((r.channel, r.address) for r in rows if slot(r) == 7)
    assert at_seven == {
        ("slack", "#lbr-odense"): 1,  # the council's channel
        ("email", "jobcenter@odense.example.dk"): 1,  # the secretariat
        ("slack", "U0000AAA"): 1,  # chair, auto: Slack known
        ("slack", "U0000BBB"): 1,  # both
        ("email", "bo@example.dk"): 1,
        ("email", "cai@example.dk"): 1,  # auto without Slack id
    }  # Dorte chose none
    assert {r.language for r in rows if r.address in ("U0000BBB", "bo@example.dk")} == {"en"}


async def test_planning_again_adds_nothing(app: AppContext) -> None:
    async with app.db.transaction() as session:
        result = await sync_reminders(session, app)
    assert (result.report.inserted, result.report.updated, result.report.withdrawn) == (0, 0, 0)


async def test_a_due_reminder_is_sent_once_in_danish_with_its_context(
    app: AppContext, slack: SlackStandIn, channels: dict[str, object]
) -> None:
    _, rows = await event_rows(app)
    seven = [r for r in rows if slot(r) == 7]
    app.clock.set(seven[0].due_at)  # type: ignore[attr-defined]
    worker = build_worker(app, channels)  # type: ignore[arg-type]
    report = await worker.drain()
    assert report.sent >= len(seven)
    assert (await worker.drain()).sent == 0, "nothing twice"
    _, rows = await event_rows(app)
    assert {r.state for r in rows if slot(r) == 7} == {"sent"}
    mails = {
        m["To"]: m
        for m in (
            message_from_bytes(p.read_bytes(), policy=policy.default) for p in mail_files(app)
        )
    }
    cai = mails["cai@example.dk"]
    body = cai.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "onsdag den 16. juni 2027" in body and "om 7 arbejdsdage" in body
    assert "LBR Odense" in body and "Påmindelse" in cai["Subject"]
    assert cai["Message-ID"] == next(
        r.external_id for r in rows if r.address == "cai@example.dk" and slot(r) == 7
    )
    assert "in 7 working days" in mails["bo@example.dk"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    dms = [c for c in slack.posted() if c.args["channel"] == "D0000AAA"]
    assert len(dms) == 1 and "16. juni 2027" in dms[0].args["text"]


async def test_moving_the_deadline_replans_without_resending(
    app: AppContext, slack: SlackStandIn, channels: dict[str, object]
) -> None:
    _, rows = await event_rows(app)
    fourteen = [r for r in rows if slot(r) == 14]
    app.clock.set(fourteen[0].due_at)  # type: ignore[attr-defined]
    worker = build_worker(app, channels)  # type: ignore[arg-type]
    await worker.drain()
    _, before = await event_rows(app)
    sent_before = {r.id: r.sent_at for r in before if r.state == "sent"}
    assert len(sent_before) == len(fourteen)

    new_day = date(2027, 6, 30)
    async with app.db.transaction() as session:
        council = await get_council(session, "lbr-odense")
        await move_event(
            session,
            council,
            2027,
            EVENT,
            new_day,
            "flyttet af test",
            app.template,
            app.calendar,
            now=app.clock.now(),
            actor="test",
        )
        result = await sync_reminders(session, app, [council.id])
    assert result.report.inserted == 0, "same keys: moved, not doubled"
    _, after = await event_rows(app)
    assert {r.id: r.sent_at for r in after if r.state == "sent"} == sent_before
    for r in after:
        if r.state == "pending":
            due = r.due_at.astimezone(CPH).date()
            assert app.calendar.working_days_between(due, new_day) == slot(r)
    # Where the 14-day reminder of the new date falls, nothing goes out again.
    app.clock.set(local(app.calendar.shift_working_days(new_day, -14)))  # type: ignore[attr-defined]
    await worker.drain()
    _, again = await event_rows(app)
    assert {r.id: r.sent_at for r in again if r.state == "sent"} == sent_before
    seven = min(r.due_at for r in after if slot(r) == 7)
    app.clock.set(seven)  # type: ignore[attr-defined]
    await worker.drain()
    _, final = await event_rows(app)
    assert {r.state for r in final if slot(r) == 7} == {"sent"}


async def test_downtime_sends_a_missed_reminder_once_and_drops_stale_ones(
    app: AppContext, slack: SlackStandIn, channels: dict[str, object]
) -> None:
    event, rows = await event_rows(app)
    seven = min(r.due_at for r in rows if slot(r) == 7)
    # Down from before the 14-day reminder until after the 7-day one.
    app.clock.set(seven + timedelta(hours=2))  # type: ignore[attr-defined]
    worker = build_worker(app, channels)  # type: ignore[arg-type]
    report = await worker.drain()
    _, rows = await event_rows(app)
    by_slot = {s: {r.state for r in rows if slot(r) == s} for s in (14, 7, 1, 0)}
    assert by_slot[14] == {"skipped"} and by_slot[7] == {"sent"}
    assert all("superseded" in (r.last_error or "") for r in rows if slot(r) == 14)
    assert report.sent >= len([r for r in rows if slot(r) == 7])
    assert (await worker.drain()).sent == 0, "caught up once"
    sent = {r.id for r in rows if r.state == "sent"}
    # Down again until the deadline has passed: the rest are stale, nothing is sent.
    app.clock.set(local(event.date + timedelta(days=1), time(10, 0)))  # type: ignore[attr-defined]
    await worker.drain()
    _, rows = await event_rows(app)
    assert {r.id for r in rows if r.state == "sent"} == sent
    late = [r for r in rows if slot(r) in (1, 0)]
    assert late and all(r.state == "skipped" and "stale" in (r.last_error or "") for r in late)


async def test_an_overdue_reminder_waits_for_working_hours(
    app: AppContext, slack: SlackStandIn, channels: dict[str, object]
) -> None:
    _, rows = await event_rows(app)
    seven = min(r.due_at for r in rows if slot(r) == 7)
    evening = datetime.combine(seven.astimezone(CPH).date(), time(20, 0), tzinfo=CPH)
    app.clock.set(evening)  # type: ignore[attr-defined]
    worker = build_worker(app, channels)  # type: ignore[arg-type]
    assert (await worker.drain()).sent == 0, "17:00-08:00 is quiet"
    morning = app.calendar.next_working_day(evening.date(), inclusive=False)
    assert await worker.next_wakeup() == local(morning)
    app.clock.set(local(morning))  # type: ignore[attr-defined]
    await worker.drain()
    _, rows = await event_rows(app)
    sent = [r for r in rows if slot(r) == 7]
    assert {r.state for r in sent} == {"sent"}
    assert {r.sent_at for r in sent} == {local(morning)}


async def test_the_daily_refresh_dates_the_new_year_and_plans_its_reminders(
    app: AppContext,
) -> None:
    # The bot started in 2027 and is still running on Monday 3 January 2028.
    app.clock.set(local(date(2028, 1, 3), time(6, 0)))  # type: ignore[attr-defined]
    await refresh(app, actor="aarshjul run")
    async with app.db.session() as session:
        events = list((await session.execute(select(CycleEvent))).scalars())
        planned = {
            r.source
            for r in (
                await session.execute(select(OutboxMessage).where(OutboxMessage.state == "pending"))
            ).scalars()
        }
    assert {e.year for e in events} == {2027, 2028, 2029}
    assert any(f"cycle:{e.id}" in planned for e in events if e.year == 2028)
