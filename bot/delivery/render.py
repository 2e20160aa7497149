"""Turning an outbox row into the words its recipient reads, in their language.

Rows store a catalogue key and parameters, not finished text: the text is made at
delivery, so it says "in 1 working day" on the day it goes out, and the digest
shows the deadlines as they stand that Monday morning.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import context as context_block
from bot.delivery.base import Message
from bot.delivery.hearing_render import render_hearing, render_prompt
from bot.delivery.meeting_render import render_meeting
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import catalogue, format_date
from bot.i18n import t as plain_t
from bot.services.inbound.reply_tokens import member_reply_to
from bot.slack_limits import fallback, fit_sections
from bot.slack_text import SlackText, escape, join, slack_t, unbold
from scheduler.workdays import WorkingCalendar
from storage.models import Council, CycleEvent, Meeting, Membership, OutboxMessage, Person

if TYPE_CHECKING:
    from bot.services.wheel.message import WheelSource

DIGEST_DAYS = 14
#: Deadlines a digest lists; the rest are counted ("… og 3 frister mere"), not listed.
DIGEST_ROWS = 20


def is_user_address(address: str) -> bool:
    """A Slack user id (U…/W…): the message goes by DM."""
    return address[:1] in ("U", "W") and address[1:].isalnum() and address.isupper()


class Renderer:
    """Renders rows; needs a session only for digests and failure reports."""

    def __init__(
        self,
        tz: tzinfo,
        calendar: WorkingCalendar,
        *,
        tzid: str = "Europe/Copenhagen",
        sender: str = "aarshjul@localhost",
        now: Callable[[], datetime] | None = None,
        slack: bool = False,
        wheels: WheelSource | None = None,
        reply_address: str = "",
    ) -> None:
        self.tz = tz
        self.calendar = calendar
        #: For calendar invitations: the zone's name and the organiser's mailbox.
        self.tzid = tzid
        self.sender = sender
        self.now = now or (lambda: datetime.now(UTC))
        #: Whether the bot has a Slack token: without one, no e-mail mentions Slack.
        self.slack = slack
        #: How to draw a council's wheel (``/cycle wheel``, the digest's inline images).
        self.wheels = wheels
        #: ``[inbound] reply_address``: a member's hearing e-mails get a Reply-To with a token.
        self.reply_address = reply_address

    async def render(self, session: AsyncSession, row: OutboxMessage, today: date) -> Message:
        """The row as it goes out. An e-mail about a council's hearing or meeting comes
        from the council's secretariat (display name, Reply-To) and, when its reader
        cannot answer in Slack, says how to answer by e-mail instead of naming buttons."""
        payload = json.loads(row.payload or "{}")
        ours = str(payload.get("message", "")).startswith(("hearing.", "meeting.", "agenda."))
        # Only a hearing's or a meeting's words depend on it: no query for the rest.
        in_slack = await self._in_slack(session, row) if ours else True
        message = await self._render_row(session, row, payload, today, in_slack)
        if row.channel == "email" and ours:
            message = await self._from_council(session, row, payload, message)
            name, params = payload.get("message", ""), payload.get("params", {})
            token = await member_reply_to(session, row, name, params, self.reply_address)
            message = replace(message, reply_to=token or message.reply_to)
        return message

    async def _in_slack(self, session: AsyncSession, row: OutboxMessage) -> bool:
        """Whether the reader of this row can answer in Slack: a Slack row, or an e-mail
        to a person with a Slack id while the bot has a token."""
        if row.channel != "email":
            return True
        if not self.slack:
            return False
        person = await session.get(Person, row.person_id) if row.person_id else None
        if person is None:
            person = await session.scalar(select(Person).where(Person.email == row.address))
        return bool(person and person.slack_id)

    async def _from_council(
        self, session: AsyncSession, row: OutboxMessage, payload: dict[str, Any], message: Message
    ) -> Message:
        council_id = row.council_id
        meeting_id = payload.get("params", {}).get("meeting_id")
        if council_id is None and meeting_id is not None:
            meeting = await session.get(Meeting, int(meeting_id))
            council_id = meeting.council_id if meeting else None
        council = await session.get(Council, council_id) if council_id else None
        if council is None:
            return message
        lang = row.language if row.language in ("da", "en") else "da"
        return replace(
            message,
            sender_name=plain_t(lang, "notify.sender_name", council=council.name),
            reply_to=message.reply_to or council.secretariat_email,
        )

    async def _render_row(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        payload: dict[str, Any],
        today: date,
        in_slack: bool,
    ) -> Message:
        message = payload.get("message", "")
        params: dict[str, Any] = payload.get("params", {})
        lang = row.language if row.language in ("da", "en") else "da"
        if message == "overview.weekly":
            from bot.services.overview.weekly import render_weekly

            return await render_weekly(session, row, params, lang, today=today, tz=self.tz)
        if row.kind == "digest":
            digest = await self._digest(session, row, params, lang, today)
            if self.wheels is None or not self.wheels.digest:
                return digest
            from bot.services.wheel.message import with_digest_wheels

            return await with_digest_wheels(
                session, row, digest, lang, today, tz=self.tz, source=self.wheels
            )
        if message.startswith("wheel."):
            from bot.services.wheel.message import WheelSource, render_slack_wheel

            source = self.wheels or WheelSource()
            return await render_slack_wheel(
                session, row, params, lang, today, tz=self.tz, source=source
            )
        if row.kind == "report":
            return await self._report(session, row, params, lang)
        if message.startswith("notice"):
            return self._notice(row, params, lang)
        if message == "meeting.prompt":
            return render_prompt(
                row,
                params,
                lang,
                today,
                self.calendar,
                is_user_address(row.address),
                kind="meeting",
            )
        if message.startswith("agenda."):
            from bot.services.agendas.render import render_agenda

            return await render_agenda(session, row, params, lang, today, tz=self.tz)
        if message.startswith("meeting."):
            return await render_meeting(
                session,
                row,
                message,
                params,
                lang,
                tz=self.tz,
                tzid=self.tzid,
                sender=self.sender,
                now=self.now(),
                in_slack=in_slack,
            )
        if message.startswith("recommend."):
            from bot.services.recommendations.render import render_recommendation

            return await render_recommendation(
                session, row, message, params, lang, today, tz=self.tz,
                direct=is_user_address(row.address),
            )  # fmt: skip
        if message.startswith("results."):
            from bot.delivery.results_render import render_results

            return await render_results(
                session, row, message, params, lang, direct=is_user_address(row.address)
            )
        if message.startswith("hearing."):
            return await render_hearing(
                session,
                row,
                message,
                params,
                lang,
                today,
                calendar=self.calendar,
                tz=self.tz,
                direct=is_user_address(row.address),
                in_slack=in_slack,
            )
        return self._reminder(row, message, params, lang, today)

    def _when(self, deadline: date, today: date, lang: str) -> str:
        n = self.calendar.working_days_between(today, deadline)
        if deadline < today:
            return plain_t(lang, "notify.when.passed")
        if n <= 0:
            return plain_t(lang, "notify.when.today")
        if n == 1:
            return plain_t(lang, "notify.when.one")
        return plain_t(lang, "notify.when.many", n=n)

    def _reminder(
        self, row: OutboxMessage, message: str, params: dict[str, Any], lang: str, today: date
    ) -> Message:
        deadline = date.fromisoformat(params["deadline"])
        title = params.get(f"title_{lang}") or params.get("title_da", "")
        council = params.get("council", "")
        fields = {
            "title": title,
            "council": council,
            "date": format_date(deadline, lang, long=True),
            "when": self._when(deadline, today, lang),
        }
        kind = params.get("type", "deadline")
        t = _words(row)
        if row.kind == "escalation":
            # The condition's own words when the catalogue has them (a hearing's
            # "answers are missing"), else a generic sentence naming it.
            entry = catalogue().get(f"notify.condition.{row.condition}")
            reason = (
                entry.get(lang) or entry["da"]
                if entry
                else t(lang, "notify.reminder.escalation.generic_reason", condition=row.condition)
            )
            subject = t(lang, "notify.reminder.escalation.subject", **fields)
            text = t(lang, "notify.reminder.escalation.text", **fields, reason=reason)
        else:
            subject = t(lang, "notify.reminder.subject", **fields)
            text = t(lang, f"notify.reminder.{kind}", **fields)
        context = t(
            lang,
            "notify.reminder.context",
            kind=t(lang, f"event_type.{kind}"),
            owner=t(lang, f"owner.{params['owner']}") if params.get("owner") else "-",
            council=council,
        )
        footer_key = "notify.footer.member" if row.person_id else "notify.footer.secretariat"
        footer = t(lang, footer_key, council=council)
        return _message(row, subject, text, footer, context=context)

    def _notice(self, row: OutboxMessage, params: dict[str, Any], lang: str) -> Message:
        subject = params.get("subject", "")
        text = params.get("text", "")
        return _message(
            row, subject, escape(text) if row.channel == "slack" else text, params.get("footer", "")
        )

    async def _digest(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        params: dict[str, Any],
        lang: str,
        today: date,
    ) -> Message:
        start = max(today, date.fromisoformat(params["week_start"]))
        end = start + timedelta(days=DIGEST_DAYS)
        council_ids = select(Membership.council_id).where(Membership.person_id == row.person_id)
        events = (
            select(CycleEvent, Council.name)
            .join(Council, col(Council.id) == CycleEvent.council_id)
            .where(
                col(CycleEvent.council_id).in_(council_ids),
                col(CycleEvent.date) >= start,
                col(CycleEvent.date) < end,
                col(Council.active).is_(True),
            )
        )
        ordered = events.order_by(col(CycleEvent.date), col(Council.name), col(CycleEvent.id))
        rows = (await session.execute(ordered.limit(DIGEST_ROWS + 1))).all()
        t = _words(row)
        lines = [
            t(
                lang,
                "notify.digest.line",
                date=format_date(event.date, lang, long=True),
                title=event.title_en if lang == "en" else event.title_da,
                council=name,
            )
            for event, name in rows[:DIGEST_ROWS]
        ]
        week = date.fromisoformat(params["week_start"]).isocalendar().week
        parts = [t(lang, "notify.digest.intro"), *(_bullet(line) for line in lines)]
        if len(rows) > DIGEST_ROWS:
            total = await session.scalar(select(func.count()).select_from(events.subquery()))
            parts.append(t(lang, "notify.digest.more", count=(total or 0) - DIGEST_ROWS))
        body = _lines(parts) if lines else t(lang, "notify.digest.empty")
        return _message(
            row,
            plain_t(lang, "notify.digest.subject", week=week),
            body,
            plain_t(lang, "notify.digest.footer"),
        )

    async def _report(
        self, session: AsyncSession, row: OutboxMessage, params: dict[str, Any], lang: str
    ) -> Message:
        ids = [int(i) for i in params.get("failed_ids", [])]
        failed = (
            await session.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .order_by(col(OutboxMessage.id))
            )
        ).scalars()
        t = _words(row)
        lines = [
            t(
                lang,
                "notify.report.line",
                id=f.id,
                channel=f.channel,
                address=f.address,
                error=(f.last_error or "-").splitlines()[0][:200],
            )
            for f in failed
        ]
        council = params.get("council", "")
        body = _lines([t(lang, "notify.report.intro", count=len(lines)), *lines])
        return _message(
            row,
            plain_t(lang, "notify.report.subject", council=council),
            body,
            plain_t(lang, "notify.report.footer", council=council),
        )


def _words(row: OutboxMessage) -> Callable[..., Any]:
    """The catalogue lookup for this row: escaping every parameter for Slack."""
    return slack_t if row.channel == "slack" else plain_t


def _bullet(line: str) -> str:
    return SlackText(f"• {line}") if isinstance(line, SlackText) else f"• {line}"


def _lines(parts: list[Any]) -> str:
    if parts and all(isinstance(p, SlackText) for p in parts):
        return join("\n", parts)
    return "\n".join(parts)


def _message(
    row: OutboxMessage, subject: str, text: str, footer: str, *, context: str = ""
) -> Message:
    """The Slack blocks (``text`` and ``context`` are SlackText for a Slack row) and the
    e-mail parts of one message."""
    blocks: list[dict[str, Any]] = []
    slack_text: SlackText | None = None
    if row.channel == "slack":
        slack_text = text  # type: ignore[assignment]
        # Long content (a digest of long titles, a report of many failures) becomes
        # several sections and, past Slack's limits, ends with "…" and where the rest is.
        where = slack_t(
            row.language, "slack.where.digest" if row.kind == "digest" else "slack.where.outbox"
        )
        blocks += fit_sections(text, row.language, where)  # type: ignore[arg-type]
        if context:
            blocks.append(context_block(context))  # type: ignore[arg-type]
    plain, page = render_email(
        EmailBody(
            subject=subject,
            text=text,
            language=row.language,
            facts=[context] if context else [],
            footer=footer,
        )
    )
    return Message(
        row_id=row.id or 0,
        key=row.key,
        address=row.address,
        subject=subject,
        text=plain if slack_text is None else fallback(unbold(slack_text)),
        blocks=blocks,
        html=page,
        direct=is_user_address(row.address),
    )
