"""``aarshjul cycle done``: a secretary marks one event of a council's year done.

A deadline has nothing in the bot that finishes it (the plan was adopted, the business
plan sent), so the secretariat says so; the overview then shows it done, and its
pending reminders and prompts are withdrawn in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.cycle import instantiate_year, year_events
from bot.services.reminders import CYCLE_PREFIXES, sync_reminders
from scheduler.errors import InputError, NotFoundError
from scheduler.model import CouncilKind
from storage import audit
from storage.db import lock_row
from storage.models import CycleEvent


@dataclass(frozen=True)
class DoneResult:
    event: CycleEvent
    #: Pending reminders withdrawn (done) or planned again (undo).
    changed: int


async def mark_done(
    session: AsyncSession,
    ctx: AppContext,
    council_key: str,
    event_key: str,
    year: int,
    *,
    undo: bool = False,
    actor: str,
    language: str = "da",
) -> DoneResult:
    """Mark the event done (or, with ``undo``, not done), under the event's row lock.

    Raises:
        NotFoundError: unknown council or event.
        InputError: already in the asked state.
    """
    council = await get_council(session, council_key)
    event_def = ctx.template.events.get(event_key)
    if event_def is None or not event_def.applies(CouncilKind(council.kind)):
        kind = CouncilKind(council.kind)
        keys = [k for k, e in ctx.template.events.items() if e.applies(kind)]
        raise user_error(
            NotFoundError,
            "cycle.unknown_event",
            event=event_key,
            council=council.key,
            known=", ".join(keys),
        )
    now = ctx.clock.now()
    await instantiate_year(session, council, year, ctx.template, ctx.calendar, now=now, actor=actor)
    found = next(
        e for e in await year_events(session, council, year) if e.template_key == event_key
    )
    event = await lock_row(session, CycleEvent, found.id)
    assert event is not None
    title = event_def.title_en if language == "en" else event_def.title_da
    if undo and event.status != "done":
        raise user_error(InputError, "cycle_done.not_done", event=title)
    if not undo and event.status == "done":
        raise user_error(InputError, "cycle_done.already", event=title)
    old = event.status
    if undo:
        event.status = (
            "moved" if event.date != event.computed_date or event.override_date else "planned"
        )
    else:
        event.status = "done"
    event.updated_at = now
    session.add(event)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="cycle_event.undone" if undo else "cycle_event.done",
        entity="cycle_event",
        entity_id=f"{council.key}/{year}/{event_key}",
        old=old,
        new=event.status,
    )
    await session.flush()
    assert council.id is not None
    result = await sync_reminders(session, ctx, [council.id], prefixes=CYCLE_PREFIXES)
    changed = result.report.inserted if undo else result.report.withdrawn
    return DoneResult(event, changed)
