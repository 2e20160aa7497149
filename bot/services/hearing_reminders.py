"""A hearing's place in the reminder plan.

Open hearings remind those heard who have not answered (or their substitutes)
and escalate to the chair when answers are missing; cycle events that are
hearings prompt the secretariat to open them. Importing this module registers
both sources, the escalation's condition and the hook that keeps the
announcement's link (``bot.services.reminders`` imports it when planning).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.hearings import MAX_URL, OPEN, asked
from bot.services.reminders import AFTER_SENT, CONDITIONS, SOURCES, CyclePromptSource
from scheduler.model import EventType
from scheduler.planner import Audience, Deadline, Escalation
from storage.db import Database
from storage.models import (
    Council,
    Hearing,
    HearingAnswer,
    HearingInvitee,
    OutboxMessage,
)


class HearingSource:
    """Open hearings as deadlines: reminders to those not yet answered, escalation to the chair."""

    prefix = "hearing:"

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]:
        settings = ctx.config.settings
        rows = await session.execute(
            select(Hearing, Council)
            .join(Council, col(Council.id) == Hearing.council_id)
            .where(
                col(Hearing.council_id).in_(council_ids),
                Hearing.state == OPEN,
                col(Hearing.deadline) >= today,
            )
            .order_by(col(Hearing.id))
        )
        found = []
        for hearing, council in rows.all():
            conf = settings.council(council.key)
            offsets = tuple((conf.reminder_offsets if conf else None) or settings.reminders.offsets)
            found.append(
                Deadline(
                    source=f"{self.prefix}{hearing.id}",
                    council_id=council.id or 0,
                    day=hearing.deadline,
                    offsets=offsets,
                    audiences=frozenset({Audience.MEMBERS}),
                    message="hearing.reminder",
                    params={
                        "hearing_id": hearing.id,
                        "council": council.name,
                        "quorum": settings.hearings.quorum,
                        # For the plan's "about what" column; messages read the hearing.
                        "title_da": f"Høring: {hearing.title}",
                        "title_en": f"Hearing: {hearing.title}",
                    },
                    escalations=(Escalation(settings.hearings.escalate_days, "short_of_answers"),),
                    members=tuple(await asked(session, ctx, hearing)),
                    # The invitation went out on the opening day: reminders start after it.
                    not_before=datetime.combine(
                        hearing.opened_at.astimezone(ctx.tz).date() + timedelta(days=1),
                        time(0),
                        tzinfo=ctx.tz,
                    ).astimezone(UTC),
                )
            )
        return found


def _opened() -> Any:
    return select(Hearing.cycle_event_id).where(col(Hearing.cycle_event_id).is_not(None))


#: Cycle events that are hearings: ask the secretariat to open them in good time.
HEARING_PROMPTS = CyclePromptSource(
    "prompt:",
    EventType.HEARING,
    "hearing.prompt",
    lambda ctx: ctx.config.settings.hearings.prompt_days,
    _opened,
)
SOURCES.extend([HearingSource(), HEARING_PROMPTS])


async def short_of_answers(session: AsyncSession, row: OutboxMessage) -> bool:
    """The escalation's condition, checked when it is due: still open and answers missing."""
    payload = json.loads(row.payload or "{}")
    hearing = await session.get(Hearing, int(payload.get("params", {}).get("hearing_id", 0)))
    if hearing is None or hearing.state != OPEN:
        return False
    invited = (
        await session.execute(
            select(HearingInvitee.person_id).where(HearingInvitee.hearing_id == hearing.id)
        )
    ).all()
    answered = (
        await session.execute(
            select(HearingAnswer.person_id).where(HearingAnswer.hearing_id == hearing.id)
        )
    ).all()
    quorum = float(payload.get("params", {}).get("quorum", 1.0))
    return len(answered) < quorum * len(invited) - 1e-9


CONDITIONS["short_of_answers"] = short_of_answers


async def remember_announcement(
    db: Database, row: OutboxMessage, external_id: str, channel: object
) -> None:
    """Keep the announcement's permalink, so later messages link back to it."""
    permalink = getattr(channel, "permalink", None)
    if permalink is None:
        return
    url = await permalink(row.key, external_id)
    if not url:
        return
    hearing_id = int(json.loads(row.payload or "{}").get("params", {}).get("hearing_id", 0))
    async with db.transaction() as session:
        hearing = await session.get(Hearing, hearing_id)
        if hearing is not None and not hearing.announcement_url:
            hearing.announcement_url = url[:MAX_URL]
            session.add(hearing)


AFTER_SENT["hearing.announce"] = remember_announcement
