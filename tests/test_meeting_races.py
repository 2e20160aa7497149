"""A meeting changed by two people at once: RSVPs and an update racing a cancel.

Each use case runs in its own transaction and session, as two requests would,
started together; the meeting's row lock decides the order. Whatever the order,
a cancelled meeting is never answered nor updated afterwards, and the
invitations queued match the last state: both databases, 20 rounds each.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlmodel import col, select

from bot.services.app import AppContext
from bot.services.hearings import Actor
from bot.services.meetings import (
    cancel_meeting,
    invite,
    meeting_view,
    parse_local,
    record_response,
    update_meeting,
)
from scheduler.errors import InputError
from storage.models import AuditLog, Person
from tests.test_meetings import create, world

ROUNDS = 20


async def attempt(coro: object) -> str | None:
    """``None`` when the use case succeeded, else the catalogue key of its refusal."""
    try:
        await coro  # type: ignore[misc]
    except InputError as exc:
        return exc.key
    return None


async def answer(ctx: AppContext, meeting_id: int, person: Person) -> str | None:
    async with ctx.db.transaction() as s:
        return await attempt(record_response(s, ctx, meeting_id, person, "yes"))


async def cancel(ctx: AppContext, meeting_id: int) -> str | None:
    async with ctx.db.transaction() as s:
        return await attempt(cancel_meeting(s, ctx, Actor("test"), meeting_id))


async def update(ctx: AppContext, meeting_id: int, start: datetime) -> str | None:
    async with ctx.db.transaction() as s:
        return await attempt(update_meeting(s, ctx, Actor("test"), meeting_id, start=start))


async def invited_meeting(ctx: AppContext) -> int:
    meeting_id = await create(ctx)
    async with ctx.db.transaction() as s:
        await invite(s, ctx, Actor("test"), meeting_id)
    return meeting_id


async def actions_of(ctx: AppContext, meeting_id: int) -> list[str]:
    async with ctx.db.session() as s:
        rows = await s.execute(
            select(AuditLog.action)
            .where(AuditLog.entity == "meeting", AuditLog.entity_id == str(meeting_id))
            .order_by(col(AuditLog.id))
        )
        return list(rows.scalars())


async def test_rsvps_racing_a_cancel_are_kept_only_if_before_it(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        async with ctx.db.session() as s:
            people = list(
                (
                    await s.execute(
                        select(Person).where(col(Person.email).startswith("m")).limit(6)
                    )
                ).scalars()
            )
        before = after = 0
        for round_ in range(ROUNDS):
            meeting_id = await invited_meeting(ctx)
            tasks = [answer(ctx, meeting_id, p) for p in people]
            tasks.insert(round_ % (len(people) + 1), cancel(ctx, meeting_id))
            outcomes = await asyncio.gather(*tasks)
            assert None in outcomes  # the cancel (at least) went through
            refused = [o for o in outcomes if o is not None]
            assert set(refused) <= {"meeting.error.cancelled"}
            actions = await actions_of(ctx, meeting_id)
            cancelled_at = actions.index("meeting.cancelled")
            # Nothing is answered after the cancel; each answer told "ok" is stored.
            assert "meeting.answered" not in actions[cancelled_at:]
            async with ctx.db.session() as s:
                view = await meeting_view(s, meeting_id)
            yes = sum(i.response == "yes" for i in view.invitees)
            assert yes == actions.count("meeting.answered") == len(people) - len(refused)
            before += yes
            after += len(refused)
        assert before > 0 and after > 0  # both orders happened


async def test_an_update_racing_a_cancel_never_changes_a_cancelled_meeting(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        for round_ in range(ROUNDS):
            meeting_id = await invited_meeting(ctx)
            start = parse_local("2027-03-30 10:00", ctx, "--start")
            moving, cancelling = update(ctx, meeting_id, start), cancel(ctx, meeting_id)
            pair = [moving, cancelling] if round_ % 2 else [cancelling, moving]
            outcomes = await asyncio.gather(*pair)
            updated, cancelled = (outcomes[0], outcomes[1]) if round_ % 2 else outcomes[::-1]
            assert cancelled is None
            actions = await actions_of(ctx, meeting_id)
            assert actions[-1] == "meeting.cancelled", actions
            async with ctx.db.session() as s:
                view = await meeting_view(s, meeting_id)
            if updated is None:
                assert actions.count("meeting.updated") == 1
                assert view.meeting.start_at == start
                # created 0, invited 0, updated 1, cancelled 2
                assert view.meeting.sequence == 2
            else:
                assert updated == "meeting.error.cancelled"
                assert "meeting.updated" not in actions
                assert view.meeting.sequence == 1
