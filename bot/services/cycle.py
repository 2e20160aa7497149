"""Use cases on a council's annual cycle: instantiate a year, show it, move an event."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import MonthName, closed_day_text, user_error, weekday_name
from bot.services.app import AppContext
from bot.services.councils import get_council
from scheduler.cycle import DatedEvent, compute_cycle
from scheduler.errors import InputError, NotFoundError
from scheduler.model import CouncilKind
from scheduler.reminders import reminder_offsets
from scheduler.template import CycleTemplate
from scheduler.workdays import WorkingCalendar
from storage import audit
from storage.models import Council, CycleEvent

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_REASON = 1000


@dataclass(frozen=True)
class YearSync:
    created: int
    updated: int
    unchanged: int
    #: Stored events the template no longer has (or that no longer apply to the council).
    removed: int = 0


@dataclass(frozen=True)
class EventChange:
    key: str
    old: date
    new: date


@dataclass(frozen=True)
class MoveResult:
    event: CycleEvent
    old: date
    followers: list[EventChange]


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise user_error(InputError, "cycle.bad_year", year=year, low=MIN_YEAR, high=MAX_YEAR)
    return year


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date from user input, with a message that says what was expected."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        pass
    shape = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if shape:
        # The right form but no such day: say which part is wrong (2027-02-30).
        year, month = (int(part) for part in shape.groups()[:2])
        if not 1 <= month <= 12:
            raise user_error(InputError, "input.no_such_month", value=text, month=month)
        days = monthrange(year, month)[1]
        raise user_error(
            InputError,
            "input.no_such_day",
            value=text,
            month=MonthName(month),
            year=year,
            days=days,
        ) from None
    raise user_error(InputError, "input.bad_date", value=text) from None


async def year_events(session: AsyncSession, council: Council, year: int) -> list[CycleEvent]:
    """The stored events of one council-year, in date order."""
    result = await session.exec(
        select(CycleEvent)
        .where(CycleEvent.council_id == council.id, CycleEvent.year == year)
        .order_by(CycleEvent.date, CycleEvent.id)
    )
    return list(result.all())


def _compute(
    council: Council,
    year: int,
    template: CycleTemplate,
    calendar: WorkingCalendar,
    rows: list[CycleEvent],
) -> list[DatedEvent]:
    overrides = {r.template_key: r.override_date for r in rows if r.override_date is not None}
    return compute_cycle(
        template, year, calendar, kind=CouncilKind(council.kind), overrides=overrides
    )


async def instantiate_year(
    session: AsyncSession,
    council: Council,
    year: int,
    template: CycleTemplate,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    actor: str,
) -> YearSync:
    """Store (or bring up to date) one council's events for one year.

    Idempotent: a second run with the same template and calendar changes nothing.
    Manual moves survive: they are passed to the engine as overrides.
    """
    check_year(year)
    rows = {r.template_key: r for r in await year_events(session, council, year)}
    created = updated = unchanged = removed = 0
    computed = _compute(council, year, template, calendar, list(rows.values()))
    wanted_keys = {d.key for d in computed}
    for key, row in rows.items():
        if key in wanted_keys:
            continue
        # The template dropped the event (or the council changed kind): the row goes,
        # and the audit log keeps what it was.
        await session.delete(row)
        removed += 1
        audit.record(
            session,
            at=now,
            actor=actor,
            action="cycle_event.removed",
            entity="cycle_event",
            entity_id=f"{council.key}/{year}/{key}",
            date=row.date,
            override_date=row.override_date,
            override_reason=row.override_reason,
        )
    for dated in computed:
        ev = dated.event
        row = rows.get(dated.key)
        if row is None:
            session.add(
                CycleEvent(
                    council_id=council.id,
                    year=year,
                    template_key=ev.key,
                    type=ev.type.value,
                    owner=ev.owner.value,
                    title_da=ev.title_da,
                    title_en=ev.title_en,
                    date=dated.date,
                    computed_date=dated.computed,
                    created_at=now,
                    updated_at=now,
                )
            )
            created += 1
            continue
        wanted = {
            "type": ev.type.value,
            "owner": ev.owner.value,
            "title_da": ev.title_da,
            "title_en": ev.title_en,
            "date": dated.date,
            "computed_date": dated.computed,
        }
        changes = audit.apply_changes(row, wanted)
        if not changes:
            unchanged += 1
            continue
        row.sequence += 1
        row.updated_at = now
        updated += 1
        audit.record(
            session,
            at=now,
            actor=actor,
            action="cycle_event.recomputed",
            entity="cycle_event",
            entity_id=f"{council.key}/{year}/{ev.key}",
            changes=changes,
        )
    await session.flush()
    return YearSync(created, updated, unchanged, removed)


def preview_year(
    council: Council, year: int, template: CycleTemplate, calendar: WorkingCalendar
) -> list[DatedEvent]:
    """The year as the template would date it, for a year not stored yet."""
    check_year(year)
    return _compute(council, year, template, calendar, [])


async def move_event(
    session: AsyncSession,
    council: Council,
    year: int,
    event_key: str,
    new_date: date,
    reason: str,
    template: CycleTemplate,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    actor: str,
    language: str = "da",
) -> MoveResult:
    """Move one event by hand; events defined relative to it move with it.

    The override is recorded with who, when and why, and audited together with
    every follower's old and new date.
    """
    reason = reason.strip()
    if not reason:
        raise user_error(InputError, "cycle.move.no_reason")
    if len(reason) > MAX_REASON:
        raise user_error(InputError, "cycle.move.reason_too_long", limit=MAX_REASON)
    event_def = template.events.get(event_key)
    if event_def is None or not event_def.applies(CouncilKind(council.kind)):
        keys = [k for k, e in template.events.items() if e.applies(CouncilKind(council.kind))]
        raise user_error(
            NotFoundError,
            "cycle.unknown_event",
            event=event_key,
            council=council.key,
            known=", ".join(keys),
        )
    if not calendar.is_working_day(new_date):
        why = closed_day_text(calendar, new_date, language) or weekday_name(new_date, language)
        raise user_error(
            InputError,
            "cycle.move.closed_day",
            date=new_date.isoformat(),
            why=why,
            before=calendar.previous_working_day(new_date).isoformat(),
            after=calendar.next_working_day(new_date).isoformat(),
        )

    await instantiate_year(session, council, year, template, calendar, now=now, actor=actor)
    rows = {r.template_key: r for r in await year_events(session, council, year)}
    target = rows[event_key]
    old = target.date
    if old == new_date:
        raise user_error(InputError, "cycle.move.same_date", date=new_date.isoformat())

    target.override_date = new_date
    target.override_by = actor
    target.override_at = now
    target.override_reason = reason
    followers: list[EventChange] = []
    for dated in _compute(council, year, template, calendar, list(rows.values())):
        row = rows[dated.key]
        if row.date == dated.date:
            continue
        if row is not target:
            followers.append(EventChange(dated.key, row.date, dated.date))
        row.date = dated.date
        row.computed_date = dated.computed
        if row.status != "done":
            row.status = "moved"
        row.sequence += 1
        row.updated_at = now
    audit.record(
        session,
        at=now,
        actor=actor,
        action="cycle_event.moved",
        entity="cycle_event",
        entity_id=f"{council.key}/{year}/{event_key}",
        old=old,
        new=new_date,
        reason=reason,
        followers=[{"event": f.key, "old": f.old, "new": f.new} for f in followers],
    )
    await session.flush()
    return MoveResult(event=target, old=old, followers=followers)


@dataclass(frozen=True)
class CycleEntry:
    """One event of a council-year as people see it, stored or previewed."""

    key: str
    date: date
    computed: date
    type: str
    owner: str
    title_da: str
    title_en: str
    status: str
    sequence: int
    override: dict[str, Any] | None

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_da


@dataclass(frozen=True)
class CouncilYear:
    council: Council
    year: int
    entries: list[CycleEntry]
    #: False when the year is not in the database and the dates are the template's.
    stored: bool


def _entry_from_row(e: CycleEvent) -> CycleEntry:
    override = None
    if e.override_date:
        override = {
            "date": e.override_date.isoformat(),
            "by": e.override_by,
            "at": e.override_at.isoformat() if e.override_at else None,
            "reason": e.override_reason,
        }
    return CycleEntry(
        e.template_key,
        e.date,
        e.computed_date,
        e.type,
        e.owner,
        e.title_da,
        e.title_en,
        e.status,
        e.sequence,
        override,
    )


def _entry_from_preview(d: DatedEvent) -> CycleEntry:
    ev = d.event
    return CycleEntry(
        d.key,
        d.date,
        d.computed,
        ev.type.value,
        ev.owner.value,
        ev.title_da,
        ev.title_en,
        "planned",
        0,
        None,
    )


async def council_year(ctx: AppContext, council_key: str, year: int | None = None) -> CouncilYear:
    """A council's year (this year by default): stored events, else the template's preview."""
    y = check_year(year or ctx.today().year)
    async with ctx.db.session() as session:
        council = await get_council(session, council_key)
        stored = await year_events(session, council, y)
    if stored:
        return CouncilYear(council, y, [_entry_from_row(e) for e in stored], True)
    preview = preview_year(council, y, ctx.template, ctx.calendar)
    return CouncilYear(council, y, [_entry_from_preview(d) for d in preview], False)


def year_calendar(ctx: AppContext, view: CouncilYear) -> bytes:
    """The council-year as an iCalendar file, with alarms at each reminder offset."""
    # icalendar loads only for the export, not for ``cycle show``.
    from bot.ics import CalendarEntry, cycle_calendar

    settings = ctx.config.settings
    language = ctx.language
    conf = settings.council(view.council.key)
    entries = []
    for entry in view.entries:
        definition = ctx.template.events.get(entry.key)
        offsets: tuple[int, ...] = ()
        description = ""
        if definition is not None:
            offsets = reminder_offsets(
                definition, conf.reminder_offsets if conf else None, settings.reminders.offsets
            )
            description = (
                definition.description_en if language == "en" else definition.description_da
            )
        entries.append(
            CalendarEntry(
                key=entry.key,
                title=entry.title(language),
                description=description,
                owner=entry.owner,
                type=entry.type,
                date=entry.date,
                sequence=entry.sequence,
                reminders=[ctx.calendar.shift_working_days(entry.date, -n) for n in offsets],
            )
        )
    return cycle_calendar(
        council_key=view.council.key,
        council_name=view.council.name,
        year=view.year,
        entries=entries,
        now=ctx.clock.now(),
        language=language,
        timezone=settings.general.timezone,
        send_at=settings.reminders.send_at,
    )
