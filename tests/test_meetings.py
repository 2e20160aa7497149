"""Meetings with calendar invitations, delivered to a real SMTP server on loopback
(aiosmtpd) or written as .eml files, parsed with ``email``, icalendar and vobject."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from typer.testing import CliRunner

from bot.cli import build_cli
from bot.config import load_config
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.councils import sync_councils
from bot.services.hearings import Actor
from bot.services.meetings import (
    MeetingDraft,
    cancel_meeting,
    create_meeting,
    invite,
    meeting_view,
    parse_local,
    record_response,
    update_meeting,
)
from bot.services.members import import_members
from bot.services.reminders import plan_failure_reports
from scheduler.clock import FixedClock
from scheduler.errors import InputError
from storage.models import Person
from tests.conftest import snapshot
from tests.servers import SmtpStandIn

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
SENDER = "lbr-sekretariat@example.dk"
EXTRA = ("direktor@jobcenter.example.dk", "udvalg@kommune.example.dk")
CONFIG = """
[email]
backend = "{backend}"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "{sender}"
folder = "{folder}"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
secretariat_email = "lbr@example.dk"
"""
MEMBERS = (
    "council,name,email,organisation,role\n"
    + "".join(
        f"lbr-test,Medlem {n:02d} Ærø,m{n:02d}@example.dk,LO,{'chair' if n == 1 else 'member'}\n"
        for n in range(1, 13)
    )
    + "lbr-test,Sofie Sekretær,sofie@example.dk,,secretary\n"
)


@asynccontextmanager
async def world(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn | None
) -> AsyncIterator[tuple[AppContext, FixedClock]]:
    folder = tmp_path / "mail"
    (tmp_path / "config.toml").write_text(
        CONFIG.format(
            backend="smtp" if smtp else "file",
            port=smtp.port if smtp else 25,
            sender=SENDER,
            folder=folder.as_posix(),
        ),
        encoding="utf-8",
    )
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    clock = FixedClock(NOW)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=NOW, actor="test")
            report = await import_members(s, MEMBERS.encode(), now=NOW, actor="test")
            assert report.rejected == 0
        yield ctx, clock


async def create(ctx: AppContext, day: str = "2027-03-29") -> int:
    async with ctx.db.transaction() as s:
        view = await create_meeting(
            s,
            ctx,
            Actor("test"),
            MeetingDraft(
                council_keys=("lbr-test",),
                title="Planseminar: beskæftigelsesplan 2028",
                start=parse_local(f"{day} 09:00", ctx, "--start"),
                end=parse_local(f"{day} 15:00", ctx, "--end"),
                location="Rådhuset, mødesal 2",
                url="https://example.dk/seminar",
                agenda="1. Velkomst\n2. Mål for 2028",
                extra=EXTRA,
            ),
        )
    return view.meeting.id or 0


def parts(mail: EmailMessage) -> dict[str, object]:
    """The MIME structure Outlook and Gmail expect, taken apart."""
    assert mail.get_content_type() == "multipart/mixed"
    alternative, attachment = mail.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    text, page, calendar = alternative.get_payload()
    assert (text.get_content_type(), page.get_content_type()) == ("text/plain", "text/html")
    assert calendar.get_content_type() == "text/calendar"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "invite.ics"
    assert calendar.get_param("method") == attachment.get_param("method")
    assert calendar.get_content_charset() == "utf-8"
    return {
        "text": text.get_content(),
        "html": page.get_content(),
        "method": calendar.get_param("method"),
        "ics": calendar.get_content(),
        "attached": attachment.get_content(),
    }


def check_invitations(
    mails: list[EmailMessage], method: str, sequence: int, day: int, offset: timedelta
) -> set[str]:
    """Every mail parses; UID is shared; ATTENDEE is the recipient; 09:00–15:00 local."""
    uids = set()
    recipients = set()
    for mail in mails:
        p = parts(mail)
        assert p["method"] == method
        assert p["ics"] == p["attached"]
        cal = icalendar.Calendar.from_ical(str(p["ics"]))
        assert str(cal["method"]) == method
        event = cal.walk("VEVENT")[0]
        recipient = mail["To"]
        assert str(event["attendee"]) == f"mailto:{recipient}"
        assert str(event["organizer"]) == f"mailto:{SENDER}"
        assert int(event["sequence"]) == sequence
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert (start.day, start.hour, end.hour, start.utcoffset()) == (day, 9, 15, offset)
        second = vobject.readOne(str(p["ics"]))
        assert second.vevent.uid.value == str(event["uid"])
        assert second.vevent.dtstart.value.utcoffset() == offset
        assert second.vevent.dtstart.value.hour == 9
        if method == "CANCEL":
            assert str(event["status"]) == "CANCELLED"
        uids.add(str(event["uid"]))
        recipients.add(recipient)
        assert "Rådhuset, mødesal 2" in str(p["text"]) and "Mål for 2028" in str(p["text"])
    assert len(uids) == 1
    return recipients


async def test_invite_update_cancel_over_smtp(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with world(database_url, tmp_path, smtp) as (ctx, _):
        meeting_id = await create(ctx, "2027-03-26")  # before DST begins (28 March)
        async with ctx.db.transaction() as s:
            _, queued = await invite(s, ctx, Actor("test"), meeting_id)
        assert queued == 14
        await drain(ctx)
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert len(mails) == 14
        expected = {f"m{n:02d}@example.dk" for n in range(1, 13)} | set(EXTRA)
        assert check_invitations(mails, "REQUEST", 0, 26, timedelta(hours=1)) == expected  # type: ignore[arg-type]
        # A member answers in Slack; the list shows it.
        async with ctx.db.transaction() as s:
            anne = (
                await s.execute(Person.__table__.select().where(Person.email == "m01@example.dk"))
            ).first()
            person = await s.get(Person, anne.id)  # type: ignore[union-attr]
            assert person is not None
            await record_response(s, ctx, meeting_id, person, "yes")
        async with ctx.db.session() as s:
            view = await meeting_view(s, meeting_id)
        assert view.counts() == {"yes": 1, "no": 0, "maybe": 0, "none": 13}

        # Moved across the change to summer time: 14 REQUESTs, SEQUENCE 1, answers reset.
        smtp.messages.clear()
        async with ctx.db.transaction() as s:
            await update_meeting(
                s,
                ctx,
                Actor("test"),
                meeting_id,
                start=parse_local("2027-03-29 09:00", ctx, "--start"),
                end=parse_local("2027-03-29 15:00", ctx, "--end"),
            )
        await drain(ctx)
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert len(mails) == 14
        check_invitations(mails, "REQUEST", 1, 29, timedelta(hours=2))  # type: ignore[arg-type]
        async with ctx.db.session() as s:
            assert (await meeting_view(s, meeting_id)).counts()["none"] == 14

        smtp.messages.clear()
        async with ctx.db.transaction() as s:
            await cancel_meeting(s, ctx, Actor("test"), meeting_id)
        await drain(ctx)
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert len(mails) == 14
        check_invitations(mails, "CANCEL", 2, 29, timedelta(hours=2))  # type: ignore[arg-type]
        # Asking again sends nothing twice.
        smtp.messages.clear()
        await drain(ctx)
        assert smtp.messages == []


async def test_smtp_faults_lose_nothing_and_repeat_nothing(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with world(database_url, tmp_path, smtp) as (ctx, clock):
        meeting_id = await create(ctx)
        smtp.tempfail = 3
        smtp.drop_after = 5
        smtp.reject_recipient(EXTRA[1])
        async with ctx.db.transaction() as s:
            await invite(s, ctx, Actor("test"), meeting_id)
        for _ in range(6):
            await drain(ctx)
            clock.set(clock.now() + timedelta(minutes=10))
        received = [m.rcpt_tos[0] for m in smtp.messages]
        assert len(received) == len(set(received)) == 13
        assert EXTRA[1] not in received
        from storage import outbox as ob

        async with ctx.db.session() as s:
            status = await ob.status(s, now=clock.now())
        failed = [r for r in status.failed if r.source.startswith("meeting-msg:")]
        assert [r.address for r in failed] == [EXTRA[1]]
        # The secretariat hears of it in the day's failure report.
        async with ctx.db.transaction() as s:
            assert await plan_failure_reports(s, ctx) == 1
        smtp.messages.clear()
        await drain(ctx)
        report = [m for m in smtp.messages if m.rcpt_tos == ["lbr@example.dk"]]
        assert len(report) == 1
        parsed = email.message_from_bytes(report[0].data, policy=policy.default)
        assert EXTRA[1] in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_without_smtp_the_same_flow_writes_eml_files(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        meeting_id = await create(ctx)
        async with ctx.db.transaction() as s:
            await invite(s, ctx, Actor("test"), meeting_id)
        await drain(ctx)
        files = sorted((tmp_path / "mail").glob("*.eml"))
        assert len(files) == 14
        mails = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        check_invitations(mails, "REQUEST", 0, 29, timedelta(hours=2))  # type: ignore[arg-type]


async def test_bad_meetings_are_refused_and_change_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        before = await snapshot(ctx.db)
        for start, end, extra, match in [
            ("2027-03-29 15:00", "2027-03-29 09:00", (), "ends before it starts"),
            ("2027-02-01 09:00", "2027-02-01 15:00", (), "starts in the past"),
            ("2027-03-29 09:00", "2027-03-29 15:00", ("not-an-address",), "not an e-mail"),
        ]:
            with pytest.raises(InputError, match=match):
                async with ctx.db.transaction() as s:
                    await create_meeting(
                        s,
                        ctx,
                        Actor("test"),
                        MeetingDraft(
                            ("lbr-test",),
                            "Seminar",
                            parse_local(start, ctx, "--start"),
                            parse_local(end, ctx, "--end"),
                            extra=extra,
                        ),
                    )
        with pytest.raises(InputError, match="does not exist"):
            parse_local("2027-03-28 02:30", ctx, "--start")
        with pytest.raises(InputError, match='must be "YYYY-MM-DD HH:MM"'):
            parse_local("29/3 9:00", ctx, "--start")
        assert await snapshot(ctx.db) == before


def test_cli_create_prints_the_id_and_ics_prints_the_invitation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(
        CONFIG.format(backend="file", port=25, sender=SENDER, folder="mail"), encoding="utf-8"
    )
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    cli = build_cli(clock=FixedClock(NOW))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert runner.invoke(cli, ["members", "import", "members.csv"]).exit_code == 0
    created = runner.invoke(
        cli,
        [
            "seminar", "create", "--council", "lbr-test", "--title", "Planseminar",
            "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
            "--invite", EXTRA[0], "--invite", EXTRA[1],
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    meeting_id = created.stdout.strip()
    assert meeting_id == "1"
    shown = runner.invoke(cli, ["seminar", "ics", meeting_id])
    cal = icalendar.Calendar.from_ical(shown.stdout)
    event = cal.walk("VEVENT")[0]
    assert len(event["attendee"]) == 14 and str(cal["method"]) == "REQUEST"
    listed = runner.invoke(cli, ["seminar", "attendees", meeting_id, "--json"])
    assert '"none": 14' in listed.stdout
    bad = runner.invoke(cli, ["seminar", "update", meeting_id, "--start", "tomorrow"])
    assert bad.exit_code == 1 and '--start skal være "YYYY-MM-DD HH:MM"' in bad.output


async def test_titles_cannot_inject_headers_or_markup(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        start = parse_local("2027-03-29 09:00", ctx, "--start")
        end = parse_local("2027-03-29 15:00", ctx, "--end")
        with pytest.raises(InputError, match=r"control character \(U\+000D\) at position 8"):
            async with ctx.db.transaction() as s:
                await create_meeting(
                    s,
                    ctx,
                    Actor("test"),
                    MeetingDraft(("lbr-test",), "Seminar\r\nBcc: evil@example.com", start, end),
                )
        async with ctx.db.transaction() as s:
            view = await create_meeting(
                s,
                ctx,
                Actor("test"),
                MeetingDraft(("lbr-test",), "<b>Seminar</b> & co", start, end),
            )
            await invite(s, ctx, Actor("test"), view.meeting.id or 0)
        await drain(ctx)
        mail = email.message_from_bytes(
            sorted((tmp_path / "mail").glob("*.eml"))[0].read_bytes(), policy=policy.default
        )
        assert mail["Bcc"] is None
        page = str(parts(mail)["html"])
        assert "&lt;b&gt;Seminar&lt;/b&gt; &amp; co" in page and "<b>Seminar" not in page
        assert mail["Subject"].startswith("Invitation: <b>Seminar</b> & co")
