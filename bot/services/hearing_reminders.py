"""A hearing's place in the reminder plan.

Open hearings remind those heard who have not answered (or their substitutes)
and escalate to the chair when answers are missing; cycle events that are
hearings prompt the secretariat to open them. Importing this module registers
both sources, the escalation's condition and the hook that keeps the
announcement's link (``bot.services.reminders`` imports it when planning).

A request changes only its own rows: :func:`replan_hearings` re-plans the source
``hearing:<id>`` of the hearings it changed (a move, a close, an opening, an
absence), :func:`withdraw_seat` takes back one seat's pending reminders when it
answers, and ``HEARING_PROMPTS.withdraw`` the prompt of a cycle event taken up. A whole
council's plan is never rebuilt inside a request (the daily sweep does that).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.hearings import MAX_URL, OPEN, asked
from bot.services.reminders import (
    AFTER_SENT,
    CONDITIONS,
    SOURCES,
    CyclePromptSource,
    load_audiences,
    send_window,
)
from scheduler.model import EventType
from scheduler.planner import Audience, Deadline, Escalation, Kind, plan_deadlines
from storage import outbox
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
        self,
        session: AsyncSession,
        ctx: AppContext,
        council_ids: Sequence[int],
        today: date,
        *,
        hearing_ids: Sequence[int] | None = None,
    ) -> list[Deadline]:
        """The open hearings of these councils (or, with ``hearing_ids``, of those only)."""
        settings = ctx.config.settings
        which = (
            col(Hearing.id).in_(list(hearing_ids))
            if hearing_ids is not None
            else col(Hearing.council_id).in_(council_ids)
        )
        rows = await session.execute(
            select(Hearing, Council)
            .join(Council, col(Council.id) == Hearing.council_id)
            .where(which, Hearing.state == OPEN, col(Hearing.deadline) >= today)
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
HEARINGS = HearingSource()
SOURCES.extend([HEARINGS, HEARING_PROMPTS])


async def replan_hearings(
    session: AsyncSession, ctx: AppContext, hearing_ids: Sequence[int]
) -> outbox.SyncReport:
    """Re-plan the reminders and escalations of these hearings, and nothing else.

    Call it in the transaction that moved, closed or opened a hearing (or changed who
    stands in for a seat): a closed hearing plans nothing, so its pending rows are
    withdrawn; a moved one keeps its keys with new times. Other sources and other
    hearings of the council are not read, which keeps the request short.
    """
    now = ctx.clock.now()
    ids = list(dict.fromkeys(hearing_ids))
    if not ids:
        return outbox.SyncReport()
    deadlines = await HEARINGS.deadlines(session, ctx, (), ctx.today(), hearing_ids=ids)
    audiences = await load_audiences(session, ctx, sorted({d.council_id for d in deadlines}))
    planned = plan_deadlines(
        deadlines,
        audiences,
        send_window(ctx),
        send_at=ctx.config.settings.reminders.send_at,
        now=now,
    )
    sources = [f"{HEARINGS.prefix}{i}" for i in ids]
    return await outbox.sync_plan(session, planned, sources=sources, now=now)


async def withdraw_seat(
    session: AsyncSession, ctx: AppContext, hearing_id: int, seat_id: int
) -> int:
    """Withdraw the pending reminders of one seat of a hearing (it has answered).

    The seat is the key's recipient (``hearing:<id>/d<n>/<channel>/person:<seat>``)
    whether the member or their substitute is reminded; escalations to the chair are
    left alone, since their condition is checked when they fall due.
    """
    # One UPDATE (what outbox.skip does, without reading the ids first): it runs
    # inside the answer's transaction, which holds the writer's lock.
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.source) == f"{HEARINGS.prefix}{hearing_id}",
            col(OutboxMessage.kind) == Kind.REMINDER.value,
            col(OutboxMessage.state) == outbox.PENDING,
            col(OutboxMessage.key).endswith(f"/person:{seat_id}", autoescape=True),
        )
        .values(state=outbox.SKIPPED, last_error="withdrawn: answered", updated_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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

#: The condition of a hearing's announcement and invitations.
STILL_OPEN = "hearing_still_open"


async def hearing_still_open(session: AsyncSession, row: OutboxMessage) -> bool:
    """Checked when an announcement or invitation goes out: the hearing is still open.

    Closing withdraws those still pending; this covers one a worker had already
    claimed when the close committed.
    """
    payload = json.loads(row.payload or "{}")
    hearing = await session.get(Hearing, int(payload.get("params", {}).get("hearing_id", 0)))
    return hearing is not None and hearing.state == OPEN


CONDITIONS[STILL_OPEN] = hearing_still_open


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
