"""Loading a council's year for the wheel: its cycle events, hearings and meetings.

The cycle's events as stored (or the template's dates for a year not stored yet),
the council's hearings (an arc from the day it opened to its deadline; a hearing of
the cycle not opened yet shows its planned length, dashed) and its meetings. A
hearing or a meeting made from a cycle event takes that event's place on the wheel,
on its own dates. Done: a date before today, an event marked done, a closed hearing.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.cycle import check_year, preview_year, year_events
from bot.services.wheel.draw import WheelEvent, draw_wheel
from scheduler.errors import AarshjulError
from scheduler.template import CycleTemplate
from scheduler.workdays import WorkingCalendar
from storage.models import Council, Hearing, Meeting

#: A cycle hearing not opened yet is drawn this many days long (the shortest hearing
#: that does not warn the secretary: ``[reminders] min_hearing_days``).
PLANNED_HEARING_DAYS = 14


@dataclass(frozen=True)
class Wheel:
    """A drawn wheel and what it shows."""

    council: Council
    year: int
    events: tuple[WheelEvent, ...]
    image: bytes


async def load_events(
    session: AsyncSession,
    council: Council,
    year: int,
    today: date,
    *,
    language: str,
    tz: tzinfo,
    template: CycleTemplate | None = None,
    calendar: WorkingCalendar | None = None,
    hearing_days: int = PLANNED_HEARING_DAYS,
) -> list[WheelEvent]:
    """The events of ``council``'s ``year`` as the wheel shows them, in date order."""
    start = datetime.combine(date(year, 1, 1), time(), tzinfo=tz)
    end = datetime.combine(date(year + 1, 1, 1), time(), tzinfo=tz)
    hearings = (
        await session.exec(
            select(Hearing).where(
                Hearing.council_id == council.id,
                col(Hearing.deadline) >= date(year, 1, 1),
                col(Hearing.deadline) < date(year + 1, 1, 1),
            )
        )
    ).all()
    meetings = (
        await session.exec(
            select(Meeting).where(
                Meeting.council_id == council.id,
                col(Meeting.state) != "cancelled",
                col(Meeting.start_at) >= start,
                col(Meeting.start_at) < end,
            )
        )
    ).all()
    taken = {h.cycle_event_id for h in hearings} | {m.cycle_event_id for m in meetings}
    events: list[WheelEvent] = []
    rows = await year_events(session, council, year)
    if rows:
        cycle = [
            (r.id, r.date, r.title_en if language == "en" else r.title_da, r.type, r.status)
            for r in rows
        ]
    elif template is not None and calendar is not None:
        cycle = [
            (None, d.date, d.event.title(language), d.event.type.value, "planned")
            for d in preview_year(council, year, template, calendar)
        ]
    else:
        cycle = []
    for event_id, day, title, kind, status in cycle:
        if event_id is not None and event_id in taken:
            continue
        opens = day - timedelta(days=hearing_days) if kind == "hearing" else None
        done = day < today or status == "done"  # passed, or marked done (cycle done)
        events.append(WheelEvent(day, title, kind, done, opens, kind == "hearing"))
    for h in hearings:
        opened = h.opened_at.astimezone(tz).date()
        events.append(WheelEvent(h.deadline, h.title, "hearing", h.state == "closed", opened))
    for m in meetings:
        day = m.start_at.astimezone(tz).date()
        events.append(WheelEvent(day, m.title, "meeting", day < today))
    events.sort(key=lambda e: (e.day, e.title))
    return events


async def draw_council_year(
    session: AsyncSession,
    council: Council,
    year: int,
    today: date,
    *,
    language: str,
    tz: tzinfo,
    template: CycleTemplate | None = None,
    calendar: WorkingCalendar | None = None,
    hearing_days: int = PLANNED_HEARING_DAYS,
    fmt: str = "png",
) -> Wheel:
    """Load and draw (the drawing in a worker thread: the event loop keeps serving)."""
    events = await load_events(
        session,
        council,
        year,
        today,
        language=language,
        tz=tz,
        template=template,
        calendar=calendar,
        hearing_days=hearing_days,
    )
    image = await asyncio.to_thread(
        draw_wheel, events, year=year, today=today, language=language, title=council.name, fmt=fmt
    )
    return Wheel(council, year, tuple(events), image)


async def council_wheel(
    ctx: AppContext,
    council_key: str,
    year: int | None = None,
    *,
    fmt: str = "png",
    language: str | None = None,
) -> Wheel:
    """A council's year (this year by default) as a wheel, in ``language`` (the
    configured one by default). Raises NotFoundError for an unknown council."""
    y = check_year(year or ctx.today().year)
    async with ctx.db.session() as session:
        council = await get_council(session, council_key)
        return await draw_council_year(
            session,
            council,
            y,
            ctx.today(),
            language=language or ctx.language,
            tz=ctx.tz,
            template=ctx.template,
            calendar=ctx.calendar,
            hearing_days=ctx.config.settings.reminders.min_hearing_days,
            fmt=fmt,
        )


async def wheel_png(ctx: AppContext, council_key: str, token: str) -> bytes | None:
    """``/calendar/{council}/wheel.png?token=``: this year's wheel, or None for an
    unknown council or a wrong token (the calendar feed's token)."""
    async with ctx.db.session() as session:
        try:
            council = await get_council(session, council_key)
        except AarshjulError:
            return None
    expected = council.calendar_token or ""
    if not expected or not hmac.compare_digest(expected.encode(), (token or "").encode()):
        return None
    return (await council_wheel(ctx, council.key)).image
