"""Calendar answers by e-mail (issue 13, point 2): iTIP REPLY and COUNTER in the shapes
Outlook, Outlook on the web, Gmail and Apple Calendar send, built from a real meeting
whose invitations went out, parsed by the reader's parse_message and handled in the
reader's order; both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.handlers.seminar import attendee_line
from bot.i18n import t
from bot.runner import drain
from bot.services.app import AppContext
from bot.services.hearings import Actor
from bot.services.inbound.imap import ImapReader
from bot.services.inbound.message import Disposition, Outcome
from bot.services.meetings import (
    cancel_meeting,
    meeting_view,
    parse_local,
    record_response,
    update_meeting,
)
from storage.models import AuditLog, MeetingInvitee, OutboxMessage, Person
from tests.cli_runner import Cli
from tests.conftest import snapshot
from tests.imap_server import Dovecot, dovecot_missing
from tests.inbound_world import (
    CPH,
    EXTRA,
    SECRETARIAT,
    SENDER,
    TITLE,
    handle,
    imap_env,
    invitation_values,
    invited_meeting,
    load_fixture,
    sent_mail,
    world,
)
from tests.servers import SlackStandIn

#: fixture, who answers (as the client writes the address), the answer it records.
CLIENTS = (
    ("outlook_desktop_accept.eml", "M03@Example.DK", "Medlem 03 Ærø", "yes", "ACCEPTED"),
    ("outlook_web_decline.eml", "m04@example.dk", "Medlem 04", "no", "DECLINED"),
    ("gmail_tentative.eml", "m05@example.dk", "Medlem 05", "maybe", "TENTATIVE"),
    ("apple_macos_accept.eml", EXTRA.upper(), "Direktør Jobcenter", "yes", "ACCEPTED"),
    ("apple_ios_decline.eml", "m06@example.dk", "Medlem 06", "no", "DECLINED"),
    ("thunderbird_tentative.eml", "m02@example.dk", "Medlem 02 Ærø", "maybe", "TENTATIVE"),
)


def reply(name: str, attendee: str, who: str, uid: str, sequence: int | str) -> bytes:
    return load_fixture(
        f"calendar/{name}",
        UID=uid,
        SEQUENCE=str(sequence),
        ORGANIZER=SENDER,
        ATTENDEE=attendee,
        ATTENDEE_NAME=who,
        TITLE=TITLE,
    )


async def answers(ctx: AppContext, meeting_id: int) -> dict[str, tuple[str, str | None]]:
    async with ctx.db.session() as s:
        view = await meeting_view(s, meeting_id)
    return {i.email: (i.response, i.source) for i in view.invitees}


async def test_each_client_shape_records_the_answer_of_the_right_invitee(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx)
        # The values come from the invitation that really went out to that invitee.
        for name, attendee, who, answer, partstat in CLIENTS:
            values = invitation_values(sent_mail(tmp_path / "mail", attendee.lower()))
            assert values["UID"] == meeting.uid
            outcome = await handle(
                ctx, reply(name, attendee, who, values["UID"], values["SEQUENCE"])
            )
            assert outcome is not None, name
            assert (outcome.disposition, outcome.kind) == (Disposition.HANDLED, "calendar_reply")
            assert outcome.params["email"] == attendee.lower()
            assert outcome.params["response"] == answer and outcome.params["partstat"] == partstat
            line = t("da", outcome.summary_key, **outcome.params)
            assert f"<{attendee.lower()}> svarede {partstat} til møde {meeting.meeting_id}" in line
        # A member answers by the Slack button as well: the same column, source slack.
        async with ctx.db.transaction() as s:
            person = (
                await s.execute(select(Person).where(Person.email == "m01@example.dk"))
            ).scalar_one()
            await record_response(s, ctx, meeting.meeting_id, person, "maybe")
        shown = await answers(ctx, meeting.meeting_id)
        assert shown == {
            "m01@example.dk": ("maybe", "slack"),
            "m02@example.dk": ("maybe", "calendar"),
            "m03@example.dk": ("yes", "calendar"),
            "m04@example.dk": ("no", "calendar"),
            "m05@example.dk": ("maybe", "calendar"),
            "m06@example.dk": ("no", "calendar"),
            EXTRA: ("yes", "calendar"),
        }
        # Each answer is in the audit log with where it came from.
        async with ctx.db.session() as s:
            logged = (
                (await s.execute(select(AuditLog).where(AuditLog.action == "meeting.answered")))
                .scalars()
                .all()
            )
        sources = sorted(json.loads(a.details)["source"] for a in logged)
        assert sources == ["calendar"] * 6 + ["slack"]
        # ``aarshjul seminar attendees ID --json`` and the table show the source.
        cli = Cli(database_url, tmp_path / "config.toml")
        data = json.loads(
            await asyncio.to_thread(
                cli.ok, "seminar", "attendees", str(meeting.meeting_id), "--json"
            )
        )
        listed = {a["email"]: (a["response"], a["source"]) for a in data["attendees"]}
        assert listed == shown
        assert data["counts"] == {"yes": 2, "no": 2, "maybe": 3, "none": 0}
        table = await asyncio.to_thread(cli.ok, "seminar", "attendees", str(meeting.meeting_id))
        row = next(line for line in table.splitlines() if "m03@example.dk" in line)
        assert "Deltager" in row and "kalender" in row
        row = next(line for line in table.splitlines() if "m01@example.dk" in line)
        assert "Måske" in row and "Slack" in row
        # /seminar attendees in Slack: the same words.
        async with ctx.db.session() as s:
            rows = (
                (
                    await s.execute(
                        select(MeetingInvitee).where(
                            MeetingInvitee.meeting_id == meeting.meeting_id
                        )
                    )
                )
                .scalars()
                .all()
            )
        by_mail = {i.email: i for i in rows}
        assert attendee_line(by_mail["m04@example.dk"], "da").endswith(": Deltager ikke (kalender)")
        assert attendee_line(by_mail["m01@example.dk"], "en").endswith(": Maybe (Slack)")
        unanswered = MeetingInvitee(meeting_id=1, email="x@example.dk", name="X")
        assert attendee_line(unanswered, "da") == "• X: Ikke svaret"


async def test_a_reply_to_an_older_sequence_does_not_count_after_a_move_to_another_day(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        args = ("outlook_desktop_accept.eml", "m03@example.dk", "Medlem 03")
        first = await handle(ctx, reply(*args, meeting.uid, 0))
        assert first is not None and first.disposition is Disposition.HANDLED
        # A change of place only (same day): SEQUENCE 1, the answers stand, and an
        # answer to SEQUENCE 0 still counts.
        async with ctx.db.transaction() as s:
            await update_meeting(s, ctx, Actor("test"), meeting.meeting_id, location="Jobcentret")
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("yes", "calendar")
        declined = reply("outlook_web_decline.eml", "m04@example.dk", "Medlem 04", meeting.uid, 0)
        outcome = await handle(ctx, declined)
        assert outcome is not None and outcome.disposition is Disposition.HANDLED
        # Moved to another day: SEQUENCE 2, every answer reset.
        async with ctx.db.transaction() as s:
            await update_meeting(
                s,
                ctx,
                Actor("test"),
                meeting.meeting_id,
                start=parse_local("2027-03-30 09:00", ctx, "--start"),
                end=parse_local("2027-03-30 15:00", ctx, "--end"),
            )
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("none", None)
        # The same Accept to the old invitation (a client's late delivery) does not count.
        for sequence in (0, 1):
            stale = await handle(ctx, reply(*args, meeting.uid, sequence))
            assert stale is not None
            assert (stale.disposition, stale.summary_key) == (
                Disposition.IGNORED,
                "inbound_calendar.summary.stale",
            )
            assert stale.params["current"] == 2
            assert "flyttet til en anden dag i version 2" in t(
                "da", stale.summary_key, **stale.params
            )
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("none", None)
        # An answer to the new invitation does.
        fresh = await handle(ctx, reply(*args, meeting.uid, 2))
        assert fresh is not None and fresh.disposition is Disposition.HANDLED
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("yes", "calendar")


async def test_an_uninvited_attendee_an_unknown_uid_and_a_cancelled_meeting_change_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        before = await snapshot(ctx.db)
        cases = (
            # Someone not invited, even writing From a member's address: the ATTENDEE decides.
            ("outlook_desktop_accept.eml", "stranger@example.org", meeting.uid, "not_invited"),
            ("gmail_tentative.eml", "m03@example.dk.evil.org", meeting.uid, "not_invited"),
            ("outlook_web_decline.eml", "m03@example.dk", "meeting-0000@aarshjul", "unknown_uid"),
            (
                "apple_macos_accept.eml",
                "m03@example.dk",
                "040000008200E00074C5B7101A82E008",
                "unknown_uid",
            ),
        )
        for name, attendee, uid, reason in cases:
            outcome = await handle(ctx, reply(name, attendee, "X", uid, 0))
            assert outcome is not None, name
            assert outcome.disposition is Disposition.IGNORED, name
            assert outcome.summary_key == f"inbound_calendar.summary.{reason}", name
            for lang in ("da", "en"):
                assert t(lang, outcome.summary_key, **outcome.params)
        assert await snapshot(ctx.db) == before
        # A cancelled meeting takes no answers (the row lock, then its state).
        async with ctx.db.transaction() as s:
            await cancel_meeting(s, ctx, Actor("test"), meeting.meeting_id)
        before = await snapshot(ctx.db)
        outcome = await handle(
            ctx, reply("outlook_desktop_accept.eml", "m03@example.dk", "X", meeting.uid, 1)
        )
        assert outcome is not None
        assert outcome.summary_key == "inbound_calendar.summary.cancelled"
        assert await snapshot(ctx.db) == before


async def test_a_counter_proposal_is_shown_to_the_secretariat_and_not_applied(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, slack=True) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        async with ctx.db.session() as s:
            start = (await meeting_view(s, meeting.meeting_id)).meeting.start_at
        raw = reply("outlook_counter.eml", "m02@example.dk", "Medlem 02", meeting.uid, 0)
        outcome = await handle(ctx, raw)
        assert outcome is not None
        assert (outcome.disposition, outcome.kind) == (Disposition.HANDLED, "calendar_counter")
        assert outcome.params["queued"] == 2
        assert outcome.params["proposed"] == "mandag den 29. marts 2027 kl. 13:00–17:00"
        async with ctx.db.session() as s:
            view = await meeting_view(s, meeting.meeting_id)
            notices = (
                (
                    await s.execute(
                        select(OutboxMessage)
                        .where(col(OutboxMessage.source).startswith("inbound-counter:"))
                        .order_by(col(OutboxMessage.channel))
                    )
                )
                .scalars()
                .all()
            )
        # Not applied: the same time, the same SEQUENCE, nobody's answer changed.
        assert view.meeting.start_at == start and view.meeting.sequence == 0
        assert all(i.response == "none" for i in view.invitees)
        assert [(n.channel, n.address) for n in notices] == [
            ("email", SECRETARIAT),
            ("slack", "#lbr-test"),
        ]
        params = json.loads(notices[0].payload)["params"]
        assert params["subject"] == f"Forslag om nyt tidspunkt: {TITLE}"
        assert "Medlem 02 Ærø <m02@example.dk> foreslår" in params["text"]
        assert "Foreslået: mandag den 29. marts 2027 kl. 13:00–17:00" in params["text"]
        assert "Nu: mandag den 29. marts 2027 kl. 09:00–15:00" in params["text"]
        assert "Kan vi tage det om eftermiddagen?" in params["text"]
        # Nothing went to the member who proposed it.
        assert all(n.address != "m02@example.dk" for n in notices)
        # The same message handled again queues nothing more.
        again = await handle(ctx, raw)
        assert again is not None and again.params["queued"] == 0


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_counter_notice_reads_in_both_languages(language: str) -> None:
    fields = {
        "id": 7,
        "title": TITLE,
        "name": "Medlem 02",
        "email": "m02@example.dk",
        "current": "a",
        "proposed": "b",
        "comment": "c",
    }
    text = t(language, "inbound_calendar.counter.text", **fields)
    assert "m02@example.dk" in text and "aarshjul seminar update 7" in text


# -- the same answers through ``aarshjul mail ingest`` (the path an MTA pipes to) ----------


async def test_each_client_shape_through_mail_ingest(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, slack=True) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        cli = Cli(database_url, tmp_path / "config.toml", SLACK_BOT_TOKEN="xoxb-test")

        def ingest(raw: bytes, name: str) -> str:
            path = tmp_path / name
            path.write_bytes(raw)
            lines = cli.ok("mail", "ingest", str(path)).splitlines()
            assert len(lines) == 1, lines
            return lines[0]

        for name, attendee, who, _, partstat in CLIENTS:
            raw = reply(name, attendee, who, meeting.uid, 0)
            line = await asyncio.to_thread(ingest, raw, name)
            assert line.startswith("Behandlet: Kalendersvar gemt: "), line
            assert f"<{attendee.lower()}> svarede {partstat} til møde {meeting.meeting_id}" in line
            # Read twice (a re-delivery): handled once.
            again = await asyncio.to_thread(ingest, raw, name)
            assert again.startswith("Behandlet: allerede behandlet"), again
        shown = await answers(ctx, meeting.meeting_id)
        assert {k: v for k, v in shown.items() if v[0] != "none"} == {
            "m02@example.dk": ("maybe", "calendar"),
            "m03@example.dk": ("yes", "calendar"),
            "m04@example.dk": ("no", "calendar"),
            "m05@example.dk": ("maybe", "calendar"),
            "m06@example.dk": ("no", "calendar"),
            EXTRA: ("yes", "calendar"),
        }
        # Ignored with the reason, exit 0; nothing changed.
        before = await snapshot(ctx.db)
        stranger = reply("outlook_web_decline.eml", "stranger@example.org", "X", meeting.uid, 0)
        stranger = stranger.replace(b"DB9PR02MB7355F00DBA11C0FFEE", b"DB9PR02MB7355STRANGER", 1)
        line = await asyncio.to_thread(ingest, stranger, "stranger.eml")
        assert line == (
            "Ignoreret: Kalendersvar ignoreret: stranger@example.org er ikke inviteret til "
            f"møde {meeting.meeting_id} ({TITLE})."
        )
        after = await snapshot(ctx.db)
        assert {k: v for k, v in after.items() if k != "inbound_message"} == {
            k: v for k, v in before.items() if k != "inbound_message"
        }
        # A COUNTER: the secretariat is told, the meeting is not changed.
        counter = reply("outlook_counter.eml", "m02@example.dk", "Medlem 02", meeting.uid, 0)
        line = await asyncio.to_thread(ingest, counter, "counter.eml")
        assert line.startswith("Behandlet: Forslag om nyt tidspunkt fra Medlem 02 Ærø"), line
        assert "13:00–17:00" in line and "(2 beskeder i udbakken)" in line
        async with ctx.db.session() as s:
            view = await meeting_view(s, meeting.meeting_id)
        assert view.meeting.sequence == 0
        assert view.meeting.start_at.astimezone(CPH).hour == 9


# -- and through IMAP: APPENDed to a real Dovecot, read by the reader, moved to done -------


@pytest.mark.skipif(dovecot_missing() is not None, reason=dovecot_missing() or "")
async def test_each_client_shape_through_imap(database_url: str, tmp_path: Path) -> None:
    with Dovecot(tmp_path / "dovecot") as server:
        async with world(database_url, tmp_path, **imap_env(server)) as (ctx, _):
            meeting = await invited_meeting(ctx, deliver=False)
            for name, attendee, who, _, _ in CLIENTS:
                await server.append(reply(name, attendee, who, meeting.uid, 0))
            # The first of them again (an IMAP re-delivery): handled once.
            first = CLIENTS[0]
            await server.append(reply(first[0], first[1], first[2], meeting.uid, 0))
            outcomes = await ImapReader(ctx).run_once()
            assert [o.kind for o in outcomes] == ["calendar_reply"] * 6 + ["duplicate"]
            assert all(o.disposition is Disposition.HANDLED for o in outcomes)
            assert await server.count("INBOX") == 0 and await server.count("done") == 7
            shown = await answers(ctx, meeting.meeting_id)
            for _, attendee, _, answer, _ in CLIENTS:
                assert shown[attendee.lower()] == (answer, "calendar"), attendee
            assert shown["m01@example.dk"] == ("none", None)


async def test_a_calendar_answer_read_late_does_not_undo_a_newer_slack_answer(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, clock):
        meeting = await invited_meeting(ctx, deliver=False)
        # m03 pressed Accept in Outlook on 2 March (DTSTAMP 10:15 UTC); the mailbox was not
        # read until the 3rd, and on the 3rd she said "Deltager ikke" in Slack.
        clock.set(datetime(2027, 3, 3, 8, 0, tzinfo=UTC))
        async with ctx.db.transaction() as s:
            person = (
                await s.execute(select(Person).where(Person.email == "m03@example.dk"))
            ).scalar_one()
            await record_response(s, ctx, meeting.meeting_id, person, "no")
        raw = reply("outlook_desktop_accept.eml", "m03@example.dk", "Medlem 03", meeting.uid, 0)
        outcome = await handle(ctx, raw)
        assert outcome is not None
        assert (outcome.disposition, outcome.summary_key) == (
            Disposition.IGNORED,
            "inbound_calendar.summary.superseded",
        )
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("no", "slack")
        # An answer written after the one on record counts.
        clock.set(datetime(2027, 3, 2, 9, 0, tzinfo=UTC))
        async with ctx.db.transaction() as s:
            await record_response(s, ctx, meeting.meeting_id, person, "maybe")
        outcome = await handle(ctx, raw)
        assert outcome is not None and outcome.disposition is Disposition.HANDLED
        assert (await answers(ctx, meeting.meeting_id))["m03@example.dk"] == ("yes", "calendar")


async def test_the_counter_notice_reaches_the_secretariat_by_e_mail(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx)
        raw = reply("outlook_counter.eml", "m02@example.dk", "Medlem 02", meeting.uid, 0)
        outcome = await handle(ctx, raw)
        assert outcome is not None and outcome.params["queued"] == 1  # no Slack: e-mail only
        await drain(ctx)
        notice = sent_mail(tmp_path / "mail", SECRETARIAT)
        assert str(notice["Subject"]) == f"Forslag om nyt tidspunkt: {TITLE}"
        body = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Medlem 02 Ærø <m02@example.dk> foreslår et nyt tidspunkt" in body
        assert "Foreslået: mandag den 29. marts 2027 kl. 13:00–17:00" in body
        assert f"aarshjul seminar update {meeting.meeting_id}" in body
        # The member who proposed it got nothing more than the invitation.
        mails = list((tmp_path / "mail").glob("*.eml"))
        assert len(mails) == 7 + 1


async def test_calendar_answers_racing_a_cancel_are_kept_only_if_before_it(
    database_url: str, tmp_path: Path
) -> None:
    """Each answer in its own transaction, started together with the cancel: the
    meeting's row lock orders them, and nothing is answered after the cancel."""
    async with world(database_url, tmp_path) as (ctx, _):
        members = [f"m{n:02d}@example.dk" for n in range(1, 7)]
        kept = refused = 0
        for round_ in range(8):
            meeting = await invited_meeting(ctx, deliver=False)
            # Every other round the cancel starts once one answer is in, the rest still
            # racing it: so both orders happen however the machine's load favours one.
            one_in = asyncio.Event()

            async def cancel(
                meeting_id: int = meeting.meeting_id,
                late: bool = round_ % 2 == 1,
                one_in: asyncio.Event = one_in,
            ) -> None:
                if late:
                    await one_in.wait()
                async with ctx.db.transaction() as s:
                    await cancel_meeting(s, ctx, Actor("test"), meeting_id)

            async def answer(raw: bytes, done: asyncio.Event = one_in) -> Outcome | None:
                try:
                    return await handle(ctx, raw)
                finally:
                    done.set()

            tasks = [
                answer(reply("gmail_tentative.eml", who, "M", meeting.uid, 0)) for who in members
            ]
            tasks.insert(round_ % (len(members) + 1), cancel())
            outcomes = [o for o in await asyncio.gather(*tasks) if o is not None]
            assert len(outcomes) == len(members)
            assert {o.summary_key for o in outcomes} <= {
                "inbound_calendar.summary.recorded",
                "inbound_calendar.summary.cancelled",
            }
            async with ctx.db.session() as s:
                actions = list(
                    (
                        await s.execute(
                            select(AuditLog.action)
                            .where(
                                AuditLog.entity == "meeting",
                                AuditLog.entity_id == str(meeting.meeting_id),
                            )
                            .order_by(col(AuditLog.id))
                        )
                    ).scalars()
                )
            assert "meeting.answered" not in actions[actions.index("meeting.cancelled") :]
            recorded = sum(o.disposition is Disposition.HANDLED for o in outcomes)
            shown = await answers(ctx, meeting.meeting_id)
            assert sum(v == ("maybe", "calendar") for v in shown.values()) == recorded
            assert actions.count("meeting.answered") == recorded
            kept += recorded
            refused += len(members) - recorded
        assert kept > 0 and refused > 0  # both orders happened


async def test_replies_that_say_no_answer_are_ignored_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        gmail = reply("gmail_tentative.eml", "m03@example.dk", "M", meeting.uid, 0)
        both = gmail.replace(  # the whole list copied: m03 and m04, and From is neither
            b"ATTENDEE;CUTYPE",
            b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:m04@example.dk\r\nATTENDEE;CUTYPE",
        ).replace(b"From: M <m03@example.dk>", b"From: M <someone@example.org>")
        broken = (
            f"From: m03@example.dk\r\nTo: {SENDER}\r\nSubject: Accepted\r\n"
            "Message-ID: <b1@x.dk>\r\n"
            'MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; charset="utf-8"\r\n'
            f"\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{meeting.uid}\r\n"
            "DTSTART:not-a-date\r\n"
        )
        cases = {
            "bad_partstat": gmail.replace(b"PARTSTAT=TENTATIVE", b"PARTSTAT=DELEGATED", 1),
            "unreadable": broken.encode(),
            "ambiguous": both,
        }
        before = await snapshot(ctx.db)
        for reason, raw in cases.items():
            outcome = await handle(ctx, raw)
            assert outcome is not None, reason
            assert outcome.summary_key == f"inbound_calendar.summary.{reason}", reason
            assert outcome.disposition is Disposition.IGNORED
        assert await snapshot(ctx.db) == before
        # The whole list copied, but From is one of them: that attendee's answer.
        mine = both.replace(b"From: M <someone@example.org>", b"From: M <m04@example.dk>")
        outcome = await handle(ctx, mine)
        assert outcome is not None and outcome.params["email"] == "m04@example.dk"
        assert (await answers(ctx, meeting.meeting_id))["m04@example.dk"] == ("yes", "calendar")


def test_only_the_first_calendars_of_a_message_are_read() -> None:
    """Clients send one or two calendars; 90 large ones took icalendar half a minute."""
    from bot.services.inbound.itip import MAX_CALENDARS, read_itip
    from bot.services.inbound.message import MailPart

    def part(uid: str) -> MailPart:
        event = f"BEGIN:VEVENT\r\nUID:{uid}\r\nEND:VEVENT\r\n" if uid else ""
        content = f"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n{event}END:VCALENDAR\r\n"
        return MailPart("text/calendar", "invite.ics", content.encode(), attached=True)

    readable = part("m-1@aarshjul")
    found = read_itip([part("")] * (MAX_CALENDARS - 1) + [readable])
    assert found is not None and found.uid == "m-1@aarshjul"
    assert read_itip([part("")] * MAX_CALENDARS + [readable]) is None


async def test_slash_seminar_attendees_shows_an_answer_by_calendar(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    """Through the bot's signed HTTP endpoint: the Outlook Accept is 'Deltager (kalender)'."""
    from bot.blocks import SEMINAR_VIEW
    from bot.services.inbound import pipeline
    from storage.models import Meeting
    from tests.slack_world import slack_world
    from tests.test_slack_hearing import START, view_of
    from tests.test_slack_seminar import seminar_values

    async with slack_world(database_url, tmp_path, START, slack) as w:
        await w.command("USOFIE01", "/seminar", "new")
        view_of(await w.api_call("views.open"))
        status, _, _ = await w.interact(
            w.submission("USOFIE01", SEMINAR_VIEW, seminar_values("2027-03-30"))
        )
        assert status == 200
        async with w.ctx.db.session() as s:
            meeting = (await s.execute(select(Meeting))).scalar_one()
        await w.drain()
        raw = reply("outlook_desktop_accept.eml", "bo@example.dk", "Bo Berg", meeting.uid, 0)
        outcome = await pipeline.handle_raw(w.ctx, raw, "file")
        assert outcome.kind == "calendar_reply", outcome
        _, _, _, name = await w.command("USOFIE01", "/seminar", f"attendees {meeting.id}")
        listing = (await w.response(name))["text"]
        assert "Bo Berg: Deltager (kalender)" in listing and "Deltager: 1" in listing
