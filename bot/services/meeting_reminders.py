"""Cycle events that are meetings ask the secretariat to create them in good time.

Importing this module registers the source (``bot.services.reminders`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.reminders import SOURCES
from scheduler.model import EventType
from scheduler.planner import Audience, Deadline
from storage.models import Council, CycleEvent, Meeting


class MeetingPromptSource:
    prefix = "meeting-prompt:"

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]:
        days = ctx.config.settings.meetings.prompt_days
        if days <= 0:
            return []
        created = select(Meeting.cycle_event_id).where(col(Meeting.cycle_event_id).is_not(None))
        rows = await session.execute(
            select(CycleEvent, Council)
            .join(Council, col(Council.id) == CycleEvent.council_id)
            .where(
                col(CycleEvent.council_id).in_(council_ids),
                CycleEvent.type == EventType.MEETING.value,
                col(CycleEvent.date) >= today,
                col(CycleEvent.id).not_in(created),
            )
        )
        return [
            Deadline(
                source=f"{self.prefix}{event.id}",
                council_id=council.id or 0,
                day=event.date,
                offsets=(days,),
                audiences=frozenset({Audience.SECRETARIAT}),
                message="meeting.prompt",
                params={
                    "event_id": event.id,
                    "council": council.name,
                    "council_key": council.key,
                    "title_da": event.title_da,
                    "title_en": event.title_en,
                },
            )
            for event, council in rows.all()
        ]


SOURCES.append(MeetingPromptSource())
