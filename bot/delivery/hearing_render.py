"""The words of a hearing's messages: announcement, invitation, reminder, escalation,
closing and the prompt to open one, rendered when they go out.

They read the hearing as it stands at delivery (a moved deadline, the
announcement's link once it is posted, the answers so far), not as it was when
the row was queued.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, tzinfo
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import (
    MEETING_PROMPT_BUTTON,
    PROMPT_BUTTON,
    context,
    hearing_blocks,
    hearing_facts,
    hearing_facts_mrkdwn,
    lines,
    plain,
    section,
)
from bot.delivery.base import Attachment, Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import catalogue, format_date, t
from bot.services.hearing_export import (
    answer_authors,
    closing_status,
    compile_markdown,
    seats_summary,
)
from bot.services.hearings import POSITIONS, HearingStatus
from bot.slack_limits import fallback, fit_sections, names_within
from bot.slack_text import SlackText, escape, join, slack_t
from scheduler.workdays import WorkingCalendar
from storage.models import Council, Hearing, OutboxMessage, Person


def _when(calendar: WorkingCalendar, deadline: date, today: date, lang: str) -> str:
    if deadline < today:
        return t(lang, "notify.when.passed")
    n = calendar.working_days_between(today, deadline)
    if n <= 0:
        return t(lang, "notify.when.today")
    if n == 1:
        return t(lang, "notify.when.one")
    return t(lang, "notify.when.many", n=n)


def _email_parts(
    subject: str, text: str, facts: list[str], footer: str, lang: str, details: str = ""
) -> tuple[str, str]:
    return render_email(
        EmailBody(
            subject=subject, text=text, language=lang, facts=facts, details=details, footer=footer
        )
    )


async def render_hearing(
    session: AsyncSession,
    row: OutboxMessage,
    message: str,
    params: dict[str, Any],
    lang: str,
    today: date,
    *,
    calendar: WorkingCalendar,
    tz: tzinfo,
    direct: bool,
    in_slack: bool = True,
) -> Message:
    """One hearing message for one row. ``in_slack`` is False for an e-mail whose reader
    cannot answer in Slack (no token, or no Slack id): it then names no button or
    channel and says how to answer by e-mail."""
    if message == "hearing.prompt":
        return render_prompt(row, params, lang, today, calendar, direct)
    hearing = await session.get(Hearing, int(params["hearing_id"]))
    if hearing is None:
        raise LookupError(f"hearing {params['hearing_id']} is gone")
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    # Slack reads the text as mrkdwn: every parameter goes through slack_t, which
    # escapes it, so a typed name or title never becomes a mention or a link.
    slack = row.channel == "slack"
    tt: Any = slack_t if slack else t
    fields = {
        "title": hearing.title,
        "council": council.name,
        "date": format_date(hearing.deadline, lang, long=True),
        "when": _when(calendar, hearing.deadline, today, lang),
    }
    button = True
    name = message.removeprefix("hearing.")
    if name == "reminder.escalation":
        answered, invited, missing = await seats_summary(session, hearing)
        # A large council's missing names would pass Slack's 3,000 characters per
        # section: Slack gets the first ones, "… og N mere" and where to see them all.
        names: Any = ", ".join(missing) or "-"
        if slack and missing:
            full = escape(names)
            names = names_within(lang, missing, 2000)
            if len(names) < len(full):
                more = slack_t(lang, "hearing.msg.escalation.all", id=hearing.id)
                names = join(" ", [names, more])
        text = tt(
            lang,
            "hearing.msg.escalation.text",
            **fields,
            answered=answered,
            invited=invited,
            missing=names,
        )
        subject = t(lang, "hearing.msg.escalation.subject", **fields)
        button = False
    elif name == "closed":
        status = await closing_status(session, hearing, today)
        compiled = compile_markdown(status, lang, tz)
        document = closing_document(status, await answer_authors(session, status), lang, tz, today)
        subject = t(lang, "hearing.msg.closed.subject", **fields)
        intro = tt(lang, "hearing.msg.closed.text", **fields)
        if not slack:
            facts = hearing_facts(hearing, council, lang, link=in_slack)
            body, page = _email_parts(
                subject,
                intro,
                facts,
                t(lang, "notify.footer.secretariat", **fields),
                lang,
                details=compiled,
            )
            return Message(
                row.id or 0,
                row.key,
                row.address,
                subject,
                body,
                [],
                page,
                direct,
                attachment=document,
            )
        summary = _closing_summary(row, subject, status, compiled, lang, direct)
        return replace(summary, extra_files=(document,))
    else:
        text_key = f"hearing.msg.{name}.text"
        if not slack and not in_slack and f"{text_key}_mail" in catalogue():
            text_key += "_mail"
        text = tt(lang, text_key, **fields)
        subject = t(lang, f"hearing.msg.{name}.subject", **fields)
    footer_key = "notify.footer.member" if row.person_id else "notify.footer.secretariat"
    footer = t(lang, footer_key, council=council.name)
    if not slack:
        # Without Slack, no link to (or name of) the channel's announcement.
        facts = hearing_facts(hearing, council, lang, link=in_slack)
        if button and hearing.state == "open":
            if in_slack:
                facts.append(t(lang, "hearing.fact.answer_in_slack", id=hearing.id))
            if council.secretariat_email:
                key = "answer_by_mail" if in_slack else "answer_by_mail_only"
                facts.append(t(lang, f"hearing.fact.{key}", address=council.secretariat_email))
            elif not in_slack:
                facts.append(t(lang, "hearing.fact.answer_by_reply"))
        body, page = _email_parts(subject, text, facts, footer, lang)
        return Message(row.id or 0, row.key, row.address, subject, body, [], page, direct)
    # The announcement itself needs no link back to itself.
    blocks = hearing_blocks(text, hearing, council, lang, button=button)
    if name == "announce":
        blocks[1] = context(hearing_facts_mrkdwn(hearing, council, lang, link=False))
    return Message(row.id or 0, row.key, row.address, subject, text, blocks, "", direct)


def closing_document(
    status: HearingStatus, people: dict[int, Person], lang: str, tz: tzinfo, today: date
) -> Attachment:
    """The compiled answer as the Word document a secretariat files (see
    :mod:`bot.documents.hearing`), for the closing message's e-mail and Slack thread."""
    from bot.documents import DOCX_TYPE
    from bot.documents.hearing import hearing_docx

    hearing = status.hearing
    return Attachment(
        filename=t(lang, "documents.hearing.file_name", id=hearing.id),
        title=t(lang, "documents.hearing.file_title", title=re.sub(r"[<>]", "", hearing.title)),
        content=hearing_docx(status, people, lang, tz, today),
        content_type=DOCX_TYPE,
    )


def _closing_summary(
    row: OutboxMessage,
    subject: str,
    status: HearingStatus,
    compiled: str,
    lang: str,
    direct: bool,
) -> Message:
    """The closed hearing in Slack: a summary that fits one message (counts by
    position, who did not answer) and every answer in full as a file in its thread.

    Forty answers of 3,000 characters are ~120,000 characters: more than Slack takes
    in one message, so the text itself goes as a file and nothing is left out.
    """
    hearing, council = status.hearing, status.council
    counts = [
        slack_t(
            lang,
            "hearing.msg.closed.count",
            position=t(lang, f"hearing.position.{p}"),
            count=sum(1 for s in status.answered if s.answer and s.answer.position == p),
        )
        for p in POSITIONS
        if any(s.answer and s.answer.position == p for s in status.answered)
    ]
    missing = [s.person.name for s in status.missing]
    where = slack_t(lang, "hearing.msg.closed.where")
    parts: list[SlackText] = [
        slack_t(
            lang,
            "hearing.msg.closed.summary",
            title=hearing.title,
            council=council.name,
            answered=len(status.answered),
            invited=len(status.seats),
        )
    ]
    if counts:
        parts.append(slack_t(lang, "hearing.msg.closed.positions", counts=join(" · ", counts)))
    if missing:
        names = names_within(lang, missing, 2500)
        parts.append(slack_t(lang, "hearing.msg.closed.missing", count=len(missing), names=names))
    else:
        parts.append(slack_t(lang, "hearing.msg.closed.none_missing"))
    parts.append(slack_t(lang, "hearing.msg.closed.file"))
    text = lines(parts)
    blocks = fit_sections(text, lang, where)
    file = Attachment(
        filename=t(lang, "hearing.msg.closed.file_name", id=hearing.id),
        # A file's title is shown as typed, never as mrkdwn: no entities, and no
        # angle brackets that any client could take for a mention.
        title=t(lang, "hearing.msg.closed.file_title", title=re.sub(r"[<>]", "", hearing.title)),
        content=compiled.encode("utf-8"),
    )
    return Message(
        row.id or 0,
        row.key,
        row.address,
        subject,
        fallback(parts[0]),
        blocks,
        "",
        direct,
        attachment=file,
    )


def render_prompt(
    row: OutboxMessage,
    params: dict[str, Any],
    lang: str,
    today: date,
    calendar: WorkingCalendar,
    direct: bool,
    *,
    kind: str = "hearing",
) -> Message:
    """'Open the hearing' / 'create the meeting': a cycle event asks the secretariat."""
    deadline = date.fromisoformat(params["deadline"])
    slack = row.channel == "slack"
    tt: Any = slack_t if slack else t
    fields = {
        "title": params.get(f"title_{lang}") or params.get("title_da", ""),
        "council": params.get("council", ""),
        "date": format_date(deadline, lang, long=True),
        "when": _when(calendar, deadline, today, lang),
    }
    text = tt(lang, f"{kind}.msg.prompt.text", **fields)
    subject = t(lang, f"{kind}.msg.prompt.subject", **fields)
    footer = t(lang, "notify.footer.secretariat", council=fields["council"])
    if not slack:
        body, page = _email_parts(subject, text, [t(lang, f"{kind}.msg.prompt.cli")], footer, lang)
        return Message(row.id or 0, row.key, row.address, subject, body, [], page, direct)
    blocks = [
        section(text),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": PROMPT_BUTTON if kind == "hearing" else MEETING_PROMPT_BUTTON,
                    "text": plain(slack_t(lang, f"{kind}.msg.prompt.button")),
                    "value": str(params.get("event_id", "")),
                    "style": "primary",
                }
            ],
        },
    ]
    return Message(row.id or 0, row.key, row.address, subject, text, blocks, "", direct)
