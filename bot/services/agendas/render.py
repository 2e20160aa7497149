"""An agenda in words: the numbered text (CLI, Slack, e-mail) and the .docx, and the
outbox row's message when the agenda is sent.

The text and the document are made from the same list, so they hold the same items
in the same order.
"""

from __future__ import annotations

import re
from datetime import date, tzinfo
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import chunks, context, section
from bot.delivery.base import Attachment, Message
from bot.delivery.meeting_render import shortened
from bot.delivery.templates import EmailBody, render_email
from bot.documents import DOCX_TYPE
from bot.documents.agenda import AgendaSheet, SheetItem
from bot.i18n import format_date, t
from bot.services.agendas.items import DONE, AgendaItem, AgendaView, stored_agenda
from bot.slack_text import escape, slack_t
from storage.models import OutboxMessage


def item_label(view: AgendaView, item: AgendaItem, lang: str) -> str:
    """What an item is and who brought it ("Regionens bemærkning (RBR Test)")."""
    by = view.councils.get(item.by_council_id or 0)
    if item.kind == "remark":
        return t(lang, "agenda.kind.remark", council=by.name if by else "")
    return t(lang, f"agenda.kind.{item.kind}")


def item_notes(view: AgendaView, item: AgendaItem, lang: str, tz: tzinfo) -> tuple[str, ...]:
    notes = []
    if item.carried_from:
        notes.append(t(lang, "agenda.note.carried", meeting=item.carried_from))
    if item.state == DONE:
        notes.append(t(lang, "agenda.note.done"))
    return tuple(notes)


def meeting_facts(view: AgendaView, lang: str, tz: tzinfo) -> list[tuple[str, str]]:
    m = view.meeting
    start, end = m.start_at.astimezone(tz), m.end_at.astimezone(tz)
    rows = [
        (t(lang, "agenda.fact.meeting"), m.title),
        (
            t(lang, "agenda.fact.when"),
            t(
                lang,
                "meeting.when",
                date=format_date(start.date(), lang, long=True),
                start=f"{start:%H:%M}",
                end=f"{end:%H:%M}",
            ),
        ),
    ]
    if m.location:
        rows.append((t(lang, "agenda.fact.where"), m.location))
    if m.url:
        rows.append((t(lang, "agenda.fact.link"), m.url))
    return rows


def agenda_sheet(view: AgendaView, lang: str, tz: tzinfo, today: date) -> AgendaSheet:
    """The document's content: the meeting's facts and the listed items, numbered."""
    return AgendaSheet(
        council=view.council.name,
        title=view.meeting.title,
        day=today,
        language=lang,
        facts=meeting_facts(view, lang, tz),
        items=[
            SheetItem(
                number=n,
                title=item.title,
                text=item.text,
                label=item_label(view, item, lang),
                notes=item_notes(view, item, lang, tz),
            )
            for n, item in enumerate(view.items, start=1)
        ],
    )


def agenda_text(sheet: AgendaSheet) -> str:
    """The agenda as plain text: the facts, then ``1. title`` with label and text."""
    lang = sheet.language
    lines = [f"{label}: {value}" for label, value in sheet.facts]
    lines.append("")
    if not sheet.items:
        lines.append(t(lang, "documents.agenda.empty"))
    for item in sheet.items:
        lines.append(f"{item.number}. {item.title}")
        extra = [item.label, *item.notes]
        lines.append("   " + " · ".join(e for e in extra if e))
        for line in item.text.splitlines():
            lines.append(f"   {line}" if line.strip() else "")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


#: Documents made lately, by what they show: every invitee of one send gets the same
#: file, and building it takes ~0.1 s for 40 long items, so it is built once per send.
_MADE: dict[tuple[object, ...], bytes] = {}
_MADE_MAX = 16


def agenda_file(
    sheet: AgendaSheet, meeting_id: int, made_for: tuple[object, ...] = ()
) -> Attachment:
    """The agenda's .docx as an attachment; ``made_for`` (the meeting's UID and what
    changes with every change of it and its agenda) reuses one document for every invitee."""
    from bot.documents.agenda import agenda_docx

    lang = sheet.language
    key = (*made_for, lang, sheet.day) if made_for else None
    content = _MADE.get(key) if key else None
    if content is None:
        content = agenda_docx(sheet)
        if key:
            while len(_MADE) >= _MADE_MAX:
                _MADE.pop(next(iter(_MADE)))
            _MADE[key] = content
    return Attachment(
        filename=t(lang, "agenda.file_name", id=meeting_id),
        title=t(lang, "agenda.file_title", title=re.sub(r"[<>]", "", sheet.title)),
        content=content,
        content_type=DOCX_TYPE,
    )


async def render_agenda(
    session: AsyncSession,
    row: OutboxMessage,
    params: dict[str, Any],
    lang: str,
    today: date,
    *,
    tz: tzinfo,
) -> Message:
    """The sent agenda for one invitee: the text, and the .docx attached (e-mail) or
    shared in the message's thread (Slack)."""
    meeting_id = int(params["meeting_id"])
    view = await stored_agenda(session, meeting_id, tz, lang)
    if view is None:
        raise LookupError(f"meeting {meeting_id} has no agenda")
    sheet = agenda_sheet(view, lang, tz, today)
    text = agenda_text(sheet)
    start = view.meeting.start_at.astimezone(tz)
    fields = {
        "title": view.meeting.title,
        "council": view.council.name,
        "date": format_date(start.date(), lang, long=True),
    }
    subject = t(lang, "agenda.mail.subject", **fields)
    intro = t(lang, "agenda.mail.text", **fields)
    footer = t(lang, "agenda.mail.footer", council=view.council.name)
    # The meeting's UID is unique across databases; the rest changes with any change.
    m, a = view.meeting, view.agenda
    made_for = (m.uid, m.sequence, m.updated_at, a.version, a.updated_at)
    file = agenda_file(sheet, meeting_id, made_for)
    if row.channel == "slack":
        body = shortened(escape(f"{intro}\n\n{text}"), slack_t(lang, "agenda.slack.more"))
        blocks = [*(section(piece) for piece in chunks(body)), context(escape(footer))]
        return Message(
            row_id=row.id or 0,
            key=row.key,
            address=row.address,
            subject=subject,
            text=body,
            blocks=blocks,
            direct=True,
            attachment=file,
        )
    plain, page = render_email(
        EmailBody(subject=subject, text=intro, language=lang, details=text, footer=footer)
    )
    return Message(
        row_id=row.id or 0,
        key=row.key,
        address=row.address,
        subject=subject,
        text=plain,
        blocks=[],
        html=page,
        direct=False,
        attachment=file,
    )
