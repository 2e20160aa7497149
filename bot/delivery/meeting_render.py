"""The e-mail of a meeting invitation, update or cancellation, with its calendar.

Rendered from the meeting as it stands at delivery, with the SEQUENCE the row
was queued for (a row of an older version is skipped when a newer one is queued).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import chunks, context, rsvp_buttons, section
from bot.delivery.base import Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import format_date, t
from bot.invites import CANCEL, REQUEST, Invitee
from bot.services.meetings import CANCELLED, meeting_calendar, meeting_text, meeting_view
from bot.slack_text import SlackText, escape, join, slack_t, trusted
from storage.models import MeetingInvitee, OutboxMessage

#: How much of a meeting's text a DM carries, in section blocks of at most 2,900
#: characters each: Slack refuses a message whose blocks hold more than ~12,000
#: (``msg_blocks_too_long``), and the footer and buttons need room too.
DM_TEXT_BUDGET = 9000


def shortened(body: SlackText, more: SlackText, budget: int = DM_TEXT_BUDGET) -> SlackText:
    """The whole text when it fits the budget; else as much as fits, never cut inside
    an entity such as ``&amp;``, then a visible "…" and where the rest is."""
    if len(body) <= budget:
        return body
    head = body.cut(budget - len(more) - 3)
    return join("", [head, trusted("…\n\n"), more])


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
    in_slack: bool = True,
) -> Message:
    """The invitation, update or cancellation for one row; an e-mail to someone who
    cannot answer in Slack (``in_slack`` False) names only the calendar's buttons."""
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
    if row.channel != "slack" and not in_slack:
        intro = t(lang, f"meeting.mail.{kind}.text_mail", **fields)  # no Slack buttons
    else:
        intro = t(lang, f"meeting.mail.{kind}.text", **fields)
    details = meeting_text(meeting, lang, tz)
    footer = t(lang, "meeting.mail.footer", council=view.council.name)
    if row.channel == "slack":
        body = escape(f"{intro}\n\n{details}")
        more = slack_t(lang, "meeting.dm.more", id=meeting.id)
        body = shortened(body, more)
        blocks = [*(section(piece) for piece in chunks(body)), context(escape(footer))]
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
