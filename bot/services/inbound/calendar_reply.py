"""An iTIP REPLY or COUNTER for one of our meetings (point 2).

A REPLY's ATTENDEE (matched against the invitee's e-mail, case-insensitively; the
``From`` address is never trusted on its own) and PARTSTAT become that invitee's
answer, the same answer the Slack buttons give, with the source ``calendar``. As
with a button, the meeting's row lock is taken and its state re-read under it: a
cancelled meeting records nothing. A REPLY to a SEQUENCE older than the last move
to another day (which reset the answers, see ``update_meeting``) no longer counts, nor
does one written (DTSTAMP) before the answer on record (a mailbox read late must not
undo a newer answer in Slack).

A COUNTER (a proposed new time) changes nothing: the council's secretariat gets a
notice by e-mail and in the council's channel saying who proposed what.

Nothing is ever mailed to the sender from here.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t
from bot.services.app import AppContext
from bot.services.inbound.itip import (
    COUNTER,
    PARTSTAT_ANSWER,
    ItipAttendee,
    ItipMessage,
    is_itip_answer,
    read_itip,
)
from bot.services.inbound.message import Disposition, Outcome, ParsedMail
from bot.services.meetings import CANCELLED, MeetingView, meeting_view
from bot.services.reminders import slack_enabled
from scheduler.planner import Kind, PlannedNotification
from storage import audit, outbox
from storage.models import Meeting, MeetingInvitee

CALENDAR_REPLY, CALENDAR_COUNTER = "calendar_reply", "calendar_counter"
SOURCE = "calendar"
SUMMARY = "inbound_calendar.summary"


async def handle_calendar_reply(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail
) -> Outcome | None:
    """The outcome when the message is one of these; None to let the next handler look."""
    if not is_itip_answer(mail.parts):
        return None
    # icalendar takes a good part of a second for a large calendar: off the event loop.
    itip = await asyncio.to_thread(read_itip, mail.parts)
    if itip is None:
        return _ignored("unreadable", {"sender": mail.from_address or "-"})
    meeting_id = await session.scalar(select(Meeting.id).where(Meeting.uid == itip.uid))
    if meeting_id is None:
        return _ignored("unknown_uid", {"uid": itip.uid[:80]})
    # The meeting's lock first, its state read under it (as the Slack button does).
    view = await meeting_view(session, meeting_id, lock=True)
    meeting = view.meeting
    about: dict[str, object] = {"id": meeting.id, "title": meeting.title}
    attendee = _the_attendee(itip, mail.from_address)
    if attendee is None:
        return _ignored(
            "ambiguous",
            {**about, "count": len(itip.attendees), "sender": mail.from_address or "-"},
        )
    who = {**about, "email": attendee.email}
    invitee = next((i for i in view.invitees if i.email.lower() == attendee.email), None)
    if invitee is None:
        return _ignored("not_invited", who)
    who["name"] = invitee.name
    if meeting.state == CANCELLED:
        return _ignored("cancelled", who)
    if itip.method == COUNTER:
        return await _counter(ctx, session, view, invitee, itip, mail)
    answer = PARTSTAT_ANSWER.get(attendee.partstat)
    if answer is None:
        return _ignored("bad_partstat", {**who, "partstat": attendee.partstat or "-"})
    if itip.sequence < meeting.answers_sequence:
        return _ignored(
            "stale", {**who, "sequence": itip.sequence, "current": meeting.answers_sequence}
        )
    if itip.stamp is not None and invitee.responded_at and itip.stamp < invitee.responded_at:
        # Read late (the mailbox was not read for a while): a newer answer is on record.
        return _ignored(
            "superseded", {**who, "partstat": attendee.partstat, "source": invitee.source or "-"}
        )
    now = ctx.clock.now()
    if (invitee.response, invitee.source) != (answer, SOURCE):
        invitee.response, invitee.source, invitee.responded_at = answer, SOURCE, now
        session.add(invitee)
        audit.record(
            session,
            at=now,
            actor=f"mail:{attendee.email}",
            action="meeting.answered",
            entity="meeting",
            entity_id=meeting.id,
            response=answer,
            source=SOURCE,
            sequence=itip.sequence,
            message_id=mail.message_id[:200],
        )
        await session.flush()
    return Outcome(
        Disposition.HANDLED,
        CALENDAR_REPLY,
        f"{SUMMARY}.recorded",
        {**who, "partstat": attendee.partstat, "response": answer},
    )


def _ignored(reason: str, params: dict[str, object]) -> Outcome:
    return Outcome(Disposition.IGNORED, CALENDAR_REPLY, f"{SUMMARY}.{reason}", params)


def _the_attendee(itip: ItipMessage, sender: str) -> ItipAttendee | None:
    """The one ATTENDEE a REPLY is about. RFC 5546 allows only one; a client that
    copies the whole list is read by the attendee who sent it, else not at all."""
    if len(itip.attendees) == 1:
        return itip.attendees[0]
    mine = [a for a in itip.attendees if sender and a.email == sender]
    return mine[0] if len(mine) == 1 else None


async def _counter(
    ctx: AppContext,
    session: AsyncSession,
    view: MeetingView,
    invitee: MeetingInvitee,
    itip: ItipMessage,
    mail: ParsedMail,
) -> Outcome:
    """Tell the secretariat (e-mail and the council's channel); change nothing."""
    meeting, council = view.meeting, view.council
    language = ctx.language
    proposed = _when(itip.start, itip.end, ctx, language)
    fields = {
        "id": meeting.id,
        "title": meeting.title,
        "name": invitee.name,
        "email": invitee.email,
        "current": _when(meeting.start_at, meeting.end_at, ctx, language),
        "proposed": proposed,
        "comment": itip.comment or "-",
    }
    targets = []
    if council.secretariat_email:
        targets.append(("email", council.secretariat_email))
    if council.slack_channel and slack_enabled(ctx):
        targets.append(("slack", f"#{council.slack_channel.lstrip('#')}"))
    now = ctx.clock.now()
    source = f"inbound-counter:{meeting.id}"
    planned = [
        PlannedNotification(
            key=f"{source}/{mail.sha256[:32]}/{channel}",
            group_key=f"{source}/{mail.sha256[:32]}/{channel}",
            kind=Kind.NOTICE,
            source=source,
            council_id=council.id,
            person_id=None,
            channel=channel,
            address=address,
            language=language,
            message="notice.inbound_counter",
            params={
                "subject": t(language, "inbound_calendar.counter.subject", **fields),
                "text": t(language, "inbound_calendar.counter.text", **fields),
                "footer": t(language, "inbound_calendar.counter.footer", **fields),
                "meeting_id": meeting.id,
            },
            due_at=now,
            expires_at=None,
            quiet=False,
        )
        for channel, address in targets
    ]
    queued = await outbox.enqueue(session, planned, now=now)
    audit.record(
        session,
        at=now,
        actor=f"mail:{invitee.email}",
        action="meeting.counter_proposed",
        entity="meeting",
        entity_id=meeting.id,
        start=itip.start if isinstance(itip.start, datetime | date) else None,
        end=itip.end if isinstance(itip.end, datetime | date) else None,
        comment=itip.comment,
        message_id=mail.message_id[:200],
    )
    await session.flush()
    return Outcome(
        Disposition.HANDLED,
        CALENDAR_COUNTER,
        f"{SUMMARY}.counter",
        {
            "id": meeting.id,
            "title": meeting.title,
            "name": invitee.name,
            "email": invitee.email,
            "proposed": proposed,
            "queued": queued,
        },
    )


def _when(
    start: datetime | date | None, end: datetime | date | None, ctx: AppContext, language: str
) -> str:
    """``mandag den 29. marts 2027 kl. 10:00–12:00`` in Copenhagen time."""
    if not isinstance(start, datetime):
        return format_date(start, language, long=True) if isinstance(start, date) else "-"
    local_start = start.astimezone(ctx.tz) if start.tzinfo else start
    local_end = (
        (end.astimezone(ctx.tz) if end.tzinfo else end) if isinstance(end, datetime) else None
    )
    return t(
        language,
        "meeting.when",
        date=format_date(local_start.date(), language, long=True),
        start=f"{local_start:%H:%M}",
        end=f"{local_end:%H:%M}" if local_end else "?",
    )
