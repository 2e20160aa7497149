"""The wheel in messages: ``/cycle wheel`` (a Slack file through the outbox) and the
Monday digest e-mail (an inline image per council of the reader).

Rows store the council and the year, not the picture: the renderer draws it when
the row goes out, so the hand points at the day it is read.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import section
from bot.delivery.base import Attachment, Message
from bot.i18n import t
from bot.services.cycle import check_year
from bot.services.wheel.year import PLANNED_HEARING_DAYS, draw_council_year
from bot.slack_text import slack_t
from scheduler.planner import Kind, PlannedNotification
from scheduler.template import CycleTemplate
from scheduler.workdays import WorkingCalendar
from storage import outbox
from storage.models import Council, Membership, OutboxMessage

#: The outbox message of a ``/cycle wheel`` row.
SLACK_MESSAGE = "wheel.slack"
#: A digest shows at most this many councils' wheels (a person in more sees the first).
DIGEST_WHEELS = 3


@dataclass(frozen=True)
class WheelSource:
    """What the renderer needs to draw a year not stored yet (the template's dates)
    and a cycle hearing not opened yet (its planned length)."""

    template: CycleTemplate | None = None
    calendar: WorkingCalendar | None = None
    hearing_days: int = PLANNED_HEARING_DAYS
    #: Whether the Monday digest e-mail carries the reader's wheels.
    digest: bool = True


async def queue_slack_wheel(
    session: AsyncSession,
    council: Council,
    year: int,
    *,
    user_id: str,
    language: str,
    request: str,
    now: datetime,
) -> bool:
    """One outbox row: the wheel of ``council``'s ``year`` to ``user_id`` by DM.

    ``request`` (the command's trigger id) makes Slack's re-sent command the same row.
    False when that row was queued already.
    """
    key = f"wheel:{council.key}:{check_year(year)}:slack:{user_id}:{request}"
    planned = PlannedNotification(
        key=key,
        group_key=key,
        kind=Kind.NOTICE,
        source=f"wheel:{council.id}",
        council_id=council.id,
        person_id=None,
        channel="slack",
        address=user_id,
        language=language,
        message=SLACK_MESSAGE,
        params={"council_id": council.id, "year": year},
        due_at=now,
        expires_at=None,
        quiet=False,
    )
    return await outbox.enqueue(session, [planned], now=now) == 1


def file_of(council: Council, year: int, image: bytes, lang: str) -> Attachment:
    return Attachment(
        filename=t(lang, "wheel.slack.file_name", key=council.key, year=year),
        title=t(lang, "wheel.slack.file_title", council=council.name, year=year),
        content=image,
        content_type="image/png",
    )


async def render_slack_wheel(
    session: AsyncSession,
    row: OutboxMessage,
    params: dict[str, Any],
    lang: str,
    today: date,
    *,
    tz: Any,
    source: WheelSource,
) -> Message:
    """The DM that carries the picture (shared in its thread by the Slack channel)."""
    council = await session.get(Council, int(params["council_id"]))
    if council is None:
        raise LookupError(f"council {params['council_id']} is gone")
    year = int(params["year"])
    drawn = await draw_council_year(
        session,
        council,
        year,
        today,
        language=lang,
        tz=tz,
        template=source.template,
        calendar=source.calendar,
        hearing_days=source.hearing_days,
    )
    text = slack_t(lang, "wheel.slack.text", council=council.name, year=year)
    return Message(
        row.id or 0,
        row.key,
        row.address,
        t(lang, "wheel.slack.file_title", council=council.name, year=year),
        text,
        [section(text)],
        "",
        True,
        attachment=file_of(council, year, drawn.image, lang),
    )


async def with_digest_wheels(
    session: AsyncSession,
    row: OutboxMessage,
    message: Message,
    lang: str,
    today: date,
    *,
    tz: Any,
    source: WheelSource,
) -> Message:
    """The digest e-mail with this year's wheel of each of the reader's councils,
    shown in place in the HTML (``cid:`` images) after the deadlines."""
    if row.channel != "email" or not message.html or row.person_id is None:
        return message
    councils = (
        await session.execute(
            select(Council)
            .join(Membership, col(Membership.council_id) == Council.id)
            .where(Membership.person_id == row.person_id, col(Council.active).is_(True))
            .order_by(col(Council.name), col(Council.id))
            .limit(DIGEST_WHEELS)
        )
    ).scalars()
    images: list[Attachment] = []
    tags: list[str] = []
    for council in councils:
        drawn = await draw_council_year(
            session,
            council,
            today.year,
            today,
            language=lang,
            tz=tz,
            template=source.template,
            calendar=source.calendar,
            hearing_days=source.hearing_days,
        )
        cid = f"wheel-{council.id}-{today.year}@aarshjul"
        images.append(replace(file_of(council, today.year, drawn.image, lang), content_id=cid))
        alt = html.escape(t(lang, "wheel.alt", council=council.name, year=today.year))
        tags.append(
            f'<p><img src="cid:{cid}" alt="{alt}" width="640" height="640" '
            'style="max-width: 100%; height: auto;"></p>\n'
        )
    if not images:
        return message
    page = message.html
    at = page.find("<hr>") if "<hr>" in page else page.rfind("</body>")
    page = page[:at] + "".join(tags) + page[at:] if at >= 0 else page + "".join(tags)
    return replace(message, html=page, inline=tuple(images))
