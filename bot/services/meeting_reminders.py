"""Cycle events that are meetings ask the secretariat to create them in good time.

Importing this module registers the source (``bot.services.reminders`` does).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.services.reminders import SOURCES, CyclePromptSource
from scheduler.model import EventType
from storage.models import Meeting


def _created() -> Any:
    return select(Meeting.cycle_event_id).where(col(Meeting.cycle_event_id).is_not(None))


MEETING_PROMPTS = CyclePromptSource(
    "meeting-prompt:",
    EventType.MEETING,
    "meeting.prompt",
    lambda ctx: ctx.config.settings.meetings.prompt_days,
    _created,
)
SOURCES.append(MEETING_PROMPTS)
