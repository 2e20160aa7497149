"""Agendas: assembled from what is due (the region's remark, a deviation alert, a
recommendation, hearings, cycle deadlines), rearranged, carried over, and sent through
the real worker to an SMTP server and the Slack stand-in with the .docx attached."""

from __future__ import annotations

import email
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlmodel import col, select

from bot.config import load_config
from bot.documents.agenda import agenda_docx
from bot.i18n import error_text
from bot.runner import drain
from bot.services.agendas.changes import add_item, done_item, drop_item, move_item
from bot.services.agendas.items import open_agenda
from bot.services.agendas.render import agenda_sheet
from bot.services.agendas.sending import send_agenda
from bot.services.app import AppContext, open_app
from bot.services.councils import get_council, sync_councils
from bot.services.cycle import instantiate_year
from bot.services.hearing_lifecycle import HearingDraft, open_hearing
from bot.services.hearings import Actor
from bot.services.meetings import MeetingDraft, cancel_meeting, create_meeting, parse_local
from bot.services.members import import_members
from scheduler.clock import FixedClock
from scheduler.errors import InputError, NotFoundError, PermissionDenied
from storage.models import CycleEvent, OutboxMessage, Person
from storage.recommendations import Recommendation
from storage.results import ResultDeviation
from tests.conftest import snapshot
from tests.servers import SlackStandIn, SmtpStandIn

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
CONFIG = """
[email]
backend = "smtp"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "aarshjul@example.dk"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Ærøskøbing"
region = "rbr-test"
slack_channel = "lbr-test"
secretariat_email = "lbr@example.dk"

[[councils]]
key = "lbr-other"
kind = "LBR"
name = "LBR Andet"
region = "rbr-test"
"""
MEMBERS = """council,name,email,organisation,role,slack_id
lbr-test,Anne Andersen,anne@example.dk,DA,chair,UANNE001
lbr-test,Bo Berg,bo@example.dk,LO,member,
lbr-test,Sofie Sekretær,sofie@example.dk,Jobcenter,secretary,USOFIE01
rbr-test,Rita Region,rita@example.dk,Regionen,secretary,URITA001
lbr-other,Sara Sørensen,sara@example.dk,Jobcenter,secretary,USARA001
"""
REMARK = "Regionen anbefaler fokus på de unge ledige; se kvartalsrapporten side 4 – æøå ÆØÅ."


@asynccontextmanager
async def world(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> AsyncIterator[tuple[AppContext, FixedClock]]:
    (tmp_path / "config.toml").write_text(CONFIG.format(port=smtp.port), encoding="utf-8")
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.base_url,
    }
    config = load_config(environ=environ, cwd=tmp_path)
    clock = FixedClock(NOW)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=NOW, actor="test")
            report = await import_members(s, MEMBERS.encode(), now=NOW, actor="test")
            assert report.rejected == 0, [line.text for line in report.lines]
            for key in ("lbr-test", "rbr-test"):
                council = await get_council(s, key)
                await instantiate_year(
                    s, council, 2027, ctx.template, ctx.calendar, now=NOW, actor="test"
                )
        yield ctx, clock


async def person(ctx: AppContext, mail: str) -> Actor:
    async with ctx.db.session() as s:
        found = await s.scalar(select(Person).where(Person.email == mail))
    assert found is not None
    return Actor(f"slack:{found.slack_id}", found)


async def meeting(ctx: AppContext, day: str, title: str = "Rådsmøde") -> int:
    async with ctx.db.transaction() as s:
        view = await create_meeting(
            s,
            ctx,
            Actor("test"),
            MeetingDraft(
                council_keys=("lbr-test",),
                title=title,
                start=parse_local(f"{day} 14:00", ctx, "--start"),
                end=parse_local(f"{day} 16:00", ctx, "--end"),
                location="Rådhuset, mødesal 2",
            ),
        )
    return view.meeting.id or 0


async def due_things(ctx: AppContext) -> None:
    """A hearing, a recommendation sent last week and an open deviation alert."""
    async with ctx.db.transaction() as s:
        lbr, rbr = await get_council(s, "lbr-test"), await get_council(s, "rbr-test")
        await open_hearing(
            s,
            ctx,
            Actor("test"),
            HearingDraft(
                council_key="lbr-test", title="Resultatrevision 2026", deadline=date(2027, 3, 26)
            ),
        )
        s.add(
            Recommendation(
                from_council_id=lbr.id or 0,
                to_council_id=rbr.id,
                title="Særligt fokus på langtidsledigheden",
                text="LBR indstiller …",
                state="sent",
                created_by="test",
                sent_by="test",
                sent_at=NOW - timedelta(days=5),
                created_at=NOW - timedelta(days=6),
                updated_at=NOW - timedelta(days=5),
            )
        )
        s.add(
            ResultDeviation(
                council_id=lbr.id or 0,
                region_id=rbr.id or 0,
                measure="ledighed",
                since_period="2026-10",
                last_period="2026-12",
                value=6.1,
                group_mean=4.2,
                difference=1.9,
                percent=45.2,
                periods=3,
                threshold_kind="percent",
                threshold=25.0,
                agreed_on=date(2026, 1, 15),
                agreed_with="Regionsdirektøren",
                state="open",
                found_at=NOW - timedelta(days=3),
                updated_at=NOW - timedelta(days=3),
            )
        )


def docx_headings(content: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(content))
    return [p.text for p in document.paragraphs if p.style.name == "Heading 1"]


def docx_text(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


async def test_the_next_lbr_meeting_holds_remark_deviation_recommendation_hearing_and_deadlines(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, _):
        await due_things(ctx)
        # No meeting yet: the region's remark waits for the council's next meeting.
        rita = await person(ctx, "rita@example.dk")
        async with ctx.db.transaction() as s:
            remark, found = await add_item(
                s,
                ctx,
                rita,
                council_key="lbr-test",
                title="Regionens råd om ungeindsatsen",
                text=REMARK,
            )
        assert found is None and remark.kind == "remark" and remark.meeting_id is None
        first = await meeting(ctx, "2027-03-15")
        later = await meeting(ctx, "2027-05-10", "Rådsmøde maj")
        async with ctx.db.transaction() as s:
            view = await open_agenda(s, ctx, Actor("test"), first)
        kinds = [i.kind for i in view.items]
        assert kinds[:4] == ["remark", "deviation", "recommendation", "hearing"], kinds
        assert set(kinds[4:]) == {"deadline"}
        assert view.items[0].text == REMARK
        assert "Langtidsledigheden".lower() in view.items[2].title.lower()
        assert "ledighed" in view.items[1].title and "45,2 %" in view.items[1].text
        async with ctx.db.session() as s:
            # The cycle's deadlines from this meeting until the next one, no more.
            lbr = await get_council(s, "lbr-test")
            deadlines = (
                await s.execute(
                    select(CycleEvent)
                    .where(
                        CycleEvent.council_id == lbr.id,
                        CycleEvent.type == "deadline",
                        col(CycleEvent.date) >= date(2027, 3, 15),
                        col(CycleEvent.date) < date(2027, 5, 10),
                    )
                    .order_by(col(CycleEvent.date), col(CycleEvent.id))
                )
            ).scalars()
            assert [i.source for i in view.items[4:]] == [f"cycle:{e.id}" for e in deadlines]
        assert len(view.items) > 4
        # Assembling again adds nothing; the meeting after that does not steal the remark.
        async with ctx.db.transaction() as s:
            again = await open_agenda(s, ctx, Actor("test"), first)
            other = await open_agenda(s, ctx, Actor("test"), later)
        assert [i.id for i in again.items] == [i.id for i in view.items]
        assert again.agenda.version == view.agenda.version
        assert "remark" not in [i.kind for i in other.items]
        # The document holds the same items in the same order, Danish letters intact.
        sheet = agenda_sheet(view, "da", ctx.tz, ctx.today())
        content = agenda_docx(sheet)
        assert docx_headings(content) == [f"{n}. {i.title}" for n, i in enumerate(view.items, 1)]
        text = docx_text(content)
        assert REMARK in text and "LBR Ærøskøbing" in text
        assert "Regionens bemærkning (RBR Test)" in text


async def test_send_delivers_once_by_mail_and_slack_with_the_docx(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, _):
        await due_things(ctx)
        first = await meeting(ctx, "2027-03-15")
        sofie = await person(ctx, "sofie@example.dk")
        await drain(ctx, worker_id="test")  # the hearing's announcement and invitations
        smtp.messages.clear()
        slack.calls.clear()
        slack.uploads.files.clear()
        async with ctx.db.transaction() as s:
            await add_item(s, ctx, sofie, meeting_id=first, title="Eventuelt – æøå", text="")
            view, queued = await send_agenda(s, ctx, sofie, first)
        titles = [i.title for i in view.items]
        # Invitees: Anne (chair, in Slack) and Bo (member): two e-mails, one DM.
        assert queued == 3
        report = await drain(ctx, worker_id="test")
        assert report.sent == 3 and report.failed == 0
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert sorted(m["To"] for m in mails) == ["anne@example.dk", "bo@example.dk"]
        for mail in mails:
            assert "LBR Ærøskøbing" in str(mail["From"])
            (file,) = list(mail.iter_attachments())
            assert file.get_filename() == f"dagsorden-moede-{first}.docx"
            assert docx_headings(file.get_content()) == [
                f"{n}. {title}" for n, title in enumerate(titles, 1)
            ]
            body = mail.get_body(("plain",)).get_content()
            assert all(title in body for title in titles)
        posts = slack.calls_to("chat.postMessage")
        assert len(posts) == 1 and "Eventuelt" in posts[0].args["text"]
        (shared,) = slack.uploads.shared()
        assert shared.filename == f"dagsorden-moede-{first}.docx"
        assert docx_headings(shared.content or b"")[-1] == f"{len(titles)}. Eventuelt – æøå"
        # Sending again without a change queues nothing, and nothing more arrives.
        async with ctx.db.transaction() as s:
            _, queued = await send_agenda(s, ctx, sofie, first)
        assert queued == 0
        assert (await drain(ctx, worker_id="test")).sent == 0
        assert len(smtp.messages) == 2 and len(slack.calls_to("chat.postMessage")) == 1
        # A change and a new send: the new version goes out once more.
        async with ctx.db.transaction() as s:
            await drop_item(s, ctx, sofie, first, len(titles))
            _, queued = await send_agenda(s, ctx, sofie, first)
        assert queued == 3
        smtp.messages.clear()
        assert (await drain(ctx, worker_id="test")).sent == 3
        for received in smtp.messages:
            mail = email.message_from_bytes(received.data, policy=policy.default)
            (file,) = list(mail.iter_attachments())
            assert docx_headings(file.get_content()) == [
                f"{n}. {title}" for n, title in enumerate(titles[:-1], 1)
            ]


async def test_reorder_drop_done_and_carry_over(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, clock):
        await due_things(ctx)
        first = await meeting(ctx, "2027-03-15")
        second = await meeting(ctx, "2027-05-10", "Rådsmøde maj")
        sofie = await person(ctx, "sofie@example.dk")
        async with ctx.db.transaction() as s:
            for title in ("A-punkt", "B-punkt", "C-punkt"):
                await add_item(s, ctx, sofie, meeting_id=first, title=title)
            view = await open_agenda(s, ctx, sofie, first)
        before = [i.title for i in view.items]
        n = len(before)
        async with ctx.db.transaction() as s:
            view = await move_item(s, ctx, sofie, first, n, 1)  # C-punkt first
        assert [i.title for i in view.items] == ["C-punkt", *before[:-1]]
        async with ctx.db.transaction() as s:
            dropped, view = await drop_item(s, ctx, sofie, first, n)  # B-punkt (now last)
            done, view = await done_item(s, ctx, sofie, first, 1)  # C-punkt dealt with
        assert dropped.title == "B-punkt" and done.title == "C-punkt"
        assert [i.title for i in view.items] == ["C-punkt", *before[:-2]]
        # The same order after a fresh read, and the dropped item does not come back.
        async with ctx.db.transaction() as s:
            view = await open_agenda(s, ctx, sofie, first)
        assert [i.title for i in view.items] == ["C-punkt", *before[:-2]]
        open_titles = [i.title for i in view.items if i.state == "open"]
        # The meeting is held; what was not marked done carries over to the next one.
        clock.set(datetime(2027, 3, 16, 9, 0, tzinfo=CPH).astimezone(UTC))
        async with ctx.db.transaction() as s:
            nxt = await open_agenda(s, ctx, sofie, second)
            held = await open_agenda(s, ctx, sofie, first)
        carried = [i for i in nxt.items if i.carried_from == first]
        assert [i.title for i in carried] == open_titles
        assert "B-punkt" not in [i.title for i in nxt.items]
        assert "C-punkt" not in [i.title for i in nxt.items]
        # On the held meeting the carried items are no longer listed; the done one is.
        assert [i.title for i in held.items] == ["C-punkt"]
        # Assembling again carries nothing twice.
        async with ctx.db.transaction() as s:
            again = await open_agenda(s, ctx, sofie, second)
        assert [i.id for i in again.items] == [i.id for i in nxt.items]


async def test_bad_input_and_other_councils_change_nothing(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, _):
        first = await meeting(ctx, "2027-03-15")
        sofie = await person(ctx, "sofie@example.dk")
        sara = await person(ctx, "sara@example.dk")  # secretary of another LBR
        async with ctx.db.transaction() as s:
            await add_item(s, ctx, sofie, meeting_id=first, title="Punkt")
            await open_agenda(s, ctx, sofie, first)
        before = await snapshot(ctx.db)
        refusals = [
            (PermissionDenied, lambda s: move_item(s, ctx, sara, first, 1, 1), "LBR Ærøskøbing"),
            (PermissionDenied, lambda s: drop_item(s, ctx, sara, first, 1), "LBR Ærøskøbing"),
            (PermissionDenied, lambda s: send_agenda(s, ctx, sara, first), "LBR Ærøskøbing"),
            (
                PermissionDenied,
                lambda s: add_item(s, ctx, sara, council_key="lbr-test", title="X"),
                "LBR Ærøskøbing",
            ),
            (NotFoundError, lambda s: open_agenda(s, ctx, sofie, 999), "999"),
            (Exception, lambda s: drop_item(s, ctx, sofie, first, 7), "intet punkt 7"),
            (Exception, lambda s: move_item(s, ctx, sofie, first, "x", 1), "'x'"),
            (Exception, lambda s: add_item(s, ctx, sofie, meeting_id=first, title=" "), "titel"),
        ]
        for kind, call, says in refusals:
            with pytest.raises(kind) as caught:
                async with ctx.db.transaction() as s:
                    await call(s)
            text = error_text(caught.value, "da")  # type: ignore[arg-type]
            assert says in text and "\n" not in text, text
        assert await snapshot(ctx.db) == before
        async with ctx.db.session() as s:
            rows = (
                await s.execute(
                    select(OutboxMessage).where(col(OutboxMessage.source).startswith("agenda"))
                )
            ).all()
        assert rows == []


async def test_cancelling_the_meeting_withdraws_the_agenda_still_waiting(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, _):
        first = await meeting(ctx, "2027-03-15")
        sofie = await person(ctx, "sofie@example.dk")
        async with ctx.db.transaction() as s:
            await add_item(s, ctx, sofie, meeting_id=first, title="Budget")
            _, queued = await send_agenda(s, ctx, sofie, first)
        assert queued == 3
        async with ctx.db.transaction() as s:
            await cancel_meeting(s, ctx, sofie, first)
        async with ctx.db.session() as s:
            states = (
                await s.execute(
                    select(OutboxMessage.state, OutboxMessage.last_error).where(
                        OutboxMessage.source == f"agenda-msg:{first}"
                    )
                )
            ).all()
        assert states and all(
            state == "skipped" and "cancelled" in (why or "") for state, why in states
        )
        await drain(ctx, worker_id="test")
        assert not [m for m in smtp.messages if "Dagsorden" in str(m.message["Subject"])]
        with pytest.raises(InputError) as caught:
            async with ctx.db.transaction() as s:
                await send_agenda(s, ctx, sofie, first)
        assert error_text(caught.value, "da") == f"møde {first} er aflyst"
