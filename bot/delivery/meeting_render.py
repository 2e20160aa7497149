"""The e-mail of a meeting invitation, update or cancellation, with its calendar.

Rendered from the meeting as it stands at delivery, with the SEQUENCE the row
was queued for (a row of an older version is skipped when a newer one is queued).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import context, rsvp_buttons, section
from bot.delivery.base import Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import format_date, t
from bot.invites import CANCEL, REQUEST, Invitee
from bot.services.meetings import CANCELLED, meeting_calendar, meeting_text, meeting_view
from bot.slack_text import escape
from storage.models import MeetingInvitee, OutboxMessage


async def render_meeting(
    session: AsyncSession,
    row: OutboxMessage,
    message: str,
    params: dict[str, Any],
    lang: str,
    *,
    tz: tzinfo,
    tzid: str,
    sender: str,
    now: datetime,
) -> Message:
    view = await meeting_view(session, int(params["meeting_id"]))
    meeting = view.meeting
    invitee = await session.scalar(
        select(MeetingInvitee).where(
            MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.email == row.address
        )
    )
    name = invitee.name if invitee else row.address
    method = CANCEL if message == "meeting.cancel" or meeting.state == CANCELLED else REQUEST
    kind = (
        "cancel" if method == CANCEL else ("update" if int(params.get("sequence", 0)) else "invite")
    )
    start = meeting.start_at.astimezone(tz)
    fields = {
        "title": meeting.title,
        "date": format_date(start.date(), lang, long=True),
        "council": view.council.name,
    }
    subject = t(lang, f"meeting.mail.{kind}.subject", **fields)
    intro = t(lang, f"meeting.mail.{kind}.text", **fields)
    details = meeting_text(meeting, lang, tz)
    footer = t(lang, "meeting.mail.footer", council=view.council.name)
    if row.channel == "slack":
        body = escape(f"{intro}\n\n{details}")
        blocks = [section(body), context(escape(footer))]
        if method == REQUEST:
            blocks.append(rsvp_buttons(meeting.id or 0, lang))
        return Message(
            row_id=row.id or 0,
            key=row.key,
            address=row.address,
            subject=subject,
            text=body,
            blocks=blocks,
            direct=True,
        )
    text, page = render_email(
        EmailBody(subject=subject, text=intro, language=lang, details=details, footer=footer)
    )
    calendar = meeting_calendar(
        view, [Invitee(name, row.address)], lang, tz=tz, tzid=tzid, sender=sender, now=now
    )
    return Message(
        row_id=row.id or 0,
        key=row.key,
        address=row.address,
        subject=subject,
        text=text,
        blocks=[],
        html=page,
        direct=False,
        calendar=calendar,
        calendar_method=method,
    )
