"""A hearing's life: open, move the deadline, close (by the secretary or by itself).

Each is one transaction. Move and close take the hearing's row lock first and
check the state under it, so a move after a close is refused and a close waits
for an answer being stored (and the other way round). Each re-plans only the
source ``hearing:<id>`` (and withdraws the cycle event's prompt on opening): a
secretary's request never rebuilds the council's whole plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import closed_day_text, format_date, t, user_error, weekday_name
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.hearing_reminders import HEARING_PROMPTS, STILL_OPEN, replan_hearings
from bot.services.hearings import (
    CLOSED,
    MAX_TITLE,
    MESSAGE_PREFIX,
    OPEN,
    SUBJECTS,
    Actor,
    HearingStatus,
    asked,
    check_url,
    clean_text,
    get_hearing,
    hearing_message,
    hearing_status,
    require_secretary,
)
from bot.services.reminders import load_audiences, send_window
from scheduler.errors import InputError
from scheduler.model import Role
from storage import audit, outbox
from storage.db import lock_row
from storage.models import Council, Hearing, HearingInvitee, Membership, OutboxMessage

log = logging.getLogger("aarshjul.hearings")


@dataclass(frozen=True)
class HearingDraft:
    """What a secretary asks for; checked by :func:`check_draft` before anything is stored."""

    council_key: str
    title: str
    deadline: date
    subject: str = "other"
    document_url: str | None = None
    #: Slack user ids or person ids to hear; the council's members when empty.
    invitee_ids: tuple[int, ...] = ()
    cycle_event_id: int | None = None


@dataclass
class OpenResult:
    hearing: Hearing
    council: Council
    created: bool
    warnings: list[str] = field(default_factory=list)
    invitees: int = 0


def hearing_warnings(ctx: AppContext, deadline: date, language: str) -> list[str]:
    """Why a secretary may want to think again: too short, or over July or Christmas."""
    today = ctx.today()
    minimum = ctx.config.settings.reminders.min_hearing_days
    found = []
    if not ctx.calendar.is_working_day(deadline):
        why = closed_day_text(ctx.calendar, deadline, language) or weekday_name(deadline, language)
        found.append(
            t(
                language,
                "hearing.warn.closed_day",
                why=why,
                before=format_date(ctx.calendar.previous_working_day(deadline), language),
            )
        )
    days = (deadline - today).days
    if days < minimum:
        found.append(t(language, "hearing.warn.short", days=days, minimum=minimum))
    for year in {today.year, deadline.year}:
        if today <= date(year, 7, 31) and deadline >= date(year, 7, 1):
            found.append(t(language, "hearing.warn.july"))
            break
    for year in {today.year - 1, today.year, deadline.year}:
        # Christmas: 24 December to 1 January.
        if today <= date(year + 1, 1, 1) and deadline >= date(year, 12, 24):
            found.append(t(language, "hearing.warn.christmas"))
            break
    return found


async def check_draft(
    session: AsyncSession, ctx: AppContext, actor: Actor, draft: HearingDraft
) -> tuple[Council, HearingDraft]:
    council = await get_council(session, draft.council_key)
    await require_secretary(session, actor, council, "hearing.open")
    title = clean_text(draft.title, "title", MAX_TITLE)
    if not title:
        raise user_error(InputError, "hearing.error.no_title")
    if draft.subject not in SUBJECTS:
        raise user_error(
            InputError, "hearing.error.bad_subject", value=draft.subject, known=", ".join(SUBJECTS)
        )
    if draft.deadline <= ctx.today():
        raise user_error(InputError, "hearing.error.past_deadline", date=draft.deadline.isoformat())
    if draft.deadline > ctx.today() + timedelta(days=366):
        raise user_error(InputError, "hearing.error.far_deadline", date=draft.deadline.isoformat())
    url = check_url(draft.document_url)
    return council, HearingDraft(
        council.key,
        title,
        draft.deadline,
        draft.subject,
        url,
        draft.invitee_ids,
        draft.cycle_event_id,
    )


async def open_hearing(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    draft: HearingDraft,
    *,
    request_key: str | None = None,
) -> OpenResult:
    """Store the hearing, its invitees, the announcement and the DMs, in one transaction.

    A repeated ``request_key`` (Slack re-sending the same submission) returns the
    hearing it opened the first time and sends nothing again.
    """
    if request_key:
        existing = await session.scalar(select(Hearing).where(Hearing.request_key == request_key))
        if existing is not None:
            council = await session.get(Council, existing.council_id)
            assert council is not None
            return OpenResult(existing, council, created=False)
    council, draft = await check_draft(session, ctx, actor, draft)
    now = ctx.clock.now()
    members = (
        await session.execute(
            select(Membership.person_id).where(
                Membership.council_id == council.id,
                col(Membership.role).in_([Role.MEMBER, Role.CHAIR]),
            )
        )
    ).scalars()
    invitees = list(draft.invitee_ids) or list(members)
    if not invitees:
        raise user_error(InputError, "hearing.error.no_members", council=council.name)
    hearing = Hearing(
        council_id=council.id or 0,
        title=draft.title,
        subject=draft.subject,
        document_url=draft.document_url,
        deadline=draft.deadline,
        state=OPEN,
        cycle_event_id=draft.cycle_event_id,
        request_key=request_key,
        opened_by=actor.label,
        opened_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(hearing)
    await session.flush()
    assert hearing.id is not None
    for person_id in dict.fromkeys(invitees):
        session.add(HearingInvitee(hearing_id=hearing.id, person_id=person_id))
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.opened",
        entity="hearing",
        entity_id=hearing.id,
        council=council.key,
        title=hearing.title,
        subject=hearing.subject,
        deadline=hearing.deadline,
        document=hearing.document_url,
        invitees=len(invitees),
    )
    await session.flush()
    await _enqueue_opening(session, ctx, hearing, council)
    # Only this hearing's reminders and the prompt it answers: not the council's plan.
    await replan_hearings(session, ctx, [hearing.id])
    await HEARING_PROMPTS.withdraw(session, ctx, hearing.cycle_event_id)
    return OpenResult(
        hearing,
        council,
        created=True,
        warnings=hearing_warnings(ctx, hearing.deadline, ctx.language),
        invitees=len(invitees),
    )


async def _enqueue_opening(
    session: AsyncSession, ctx: AppContext, hearing: Hearing, council: Council
) -> None:
    """The announcement in the council's channel and a DM (or e-mail) to each invitee."""
    now = ctx.clock.now()
    source = f"{MESSAGE_PREFIX}{hearing.id}"
    audience = (await load_audiences(session, ctx, [council.id or 0]))[council.id or 0]
    planned = [
        hearing_message(source, "hearing.announce", r, hearing, council, now, slot="announce")
        for r in audience.channel
    ]
    for recipient in await asked(session, ctx, hearing):
        planned.append(
            hearing_message(
                source, "hearing.invite", recipient, hearing, council, now, slot="invite"
            )
        )
    # Checked again at delivery: a close racing a worker's batch sends none of them.
    await outbox.enqueue(session, [replace(p, condition=STILL_OPEN) for p in planned], now=now)


async def move_deadline(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    hearing_id: int | str,
    new_deadline: date,
) -> tuple[Hearing, date]:
    """A new deadline: the hearing's reminders are re-planned (same keys, never doubled).

    The hearing's row lock comes first, and the state is checked under it: a move
    that loses the race to a close is refused, never applied to a closed hearing.
    """
    hearing = await get_hearing(session, hearing_id, lock=True)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    await require_secretary(session, actor, council, "hearing.move")
    if hearing.state != OPEN:
        raise user_error(
            InputError, "hearing.error.move_closed", id=hearing.id, title=hearing.title
        )
    if new_deadline <= ctx.today():
        raise user_error(InputError, "hearing.error.past_deadline", date=new_deadline.isoformat())
    old = hearing.deadline
    now = ctx.clock.now()
    hearing.deadline = new_deadline
    hearing.updated_at = now
    session.add(hearing)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.moved",
        entity="hearing",
        entity_id=hearing.id,
        old=old,
        new=new_deadline,
    )
    await session.flush()
    await replan_hearings(session, ctx, [hearing.id or 0])
    return hearing, old


async def close_hearing(
    session: AsyncSession, ctx: AppContext, actor: Actor, hearing_id: int | str
) -> HearingStatus:
    """Close, withdraw what is still planned, and post the compiled answer.

    Under the hearing's row lock: the answers stored before the close are exactly
    those the compilation holds, since an answer waiting for the lock then finds
    the hearing closed and is refused.
    """
    hearing = await get_hearing(session, hearing_id, lock=True)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    await require_secretary(session, actor, council, "hearing.close")
    if hearing.state != OPEN:
        # The secretary, not a member: no "write to the secretariat".
        raise user_error(
            InputError, "hearing.error.already_closed", id=hearing.id, title=hearing.title
        )
    now = ctx.clock.now()
    hearing.state = CLOSED
    hearing.closed_at = now
    hearing.closed_by = actor.label
    hearing.updated_at = now
    session.add(hearing)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.closed",
        entity="hearing",
        entity_id=hearing.id,
    )
    await session.flush()
    # The reminders and escalations (source hearing:<id>) are withdrawn by the re-plan,
    # the announcement and invitations still waiting here.
    await replan_hearings(session, ctx, [hearing.id or 0])
    await withdraw_opening(session, hearing.id or 0, now=now)
    audience = (await load_audiences(session, ctx, [council.id or 0]))[council.id or 0]
    source = f"{MESSAGE_PREFIX}{hearing.id}"
    planned = [
        hearing_message(source, "hearing.closed", r, hearing, council, now, slot="closed")
        for r in (*audience.channel, *audience.secretariat)
    ]
    await outbox.enqueue(session, planned, now=now)
    return await hearing_status(session, ctx, hearing.id or 0)


#: The one-off messages of an open hearing: a closed one must not send them any more.
OPENING_SLOTS = ("announce", "invite")


async def withdraw_opening(session: AsyncSession, hearing_id: int, *, now: datetime) -> int:
    """Skip the announcement and invitations of a hearing that are still pending.

    A hearing opened while no ``aarshjul run`` was running, then closed, must not
    announce itself afterwards. Receipts stay: they confirm an answer that counts in
    the compiled result. Returns how many rows were withdrawn.
    """
    t = OutboxMessage.__table__
    prefixes = [f"{MESSAGE_PREFIX}{hearing_id}/{slot}/" for slot in OPENING_SLOTS]
    ids = (
        await session.execute(
            select(t.c.id).where(
                t.c.source == f"{MESSAGE_PREFIX}{hearing_id}",
                t.c.state == outbox.PENDING,
                or_(*(t.c.key.startswith(p, autoescape=True) for p in prefixes)),
            )
        )
    ).scalars()
    return await outbox.skip(session, list(ids), "withdrawn: the hearing was closed", now=now)


async def close_due_hearings(ctx: AppContext) -> list[int]:
    """Close the open hearings whose grace after the deadline has run out.

    With ``auto_close_days`` N, a hearing closes when working hours begin N working
    days after its deadline (N = 0: as soon as the deadline day has ended).
    """
    days = ctx.config.settings.hearings.auto_close_days
    if days < 0:
        return []
    now = ctx.clock.now()
    today = ctx.today()
    window = send_window(ctx)
    async with ctx.db.session() as session:
        due = (
            await session.execute(
                select(Hearing).where(Hearing.state == OPEN, col(Hearing.deadline) < today)
            )
        ).scalars()
        candidates = []
        for h in due:
            day = ctx.calendar.shift_working_days(h.deadline, days)
            if days == 0 or day < today or (day == today and window.allows(now)):
                candidates.append(h.id or 0)
    closed = []
    for hearing_id in candidates:
        async with ctx.db.transaction() as session:
            hearing = await lock_row(session, Hearing, hearing_id)
            if hearing is None or hearing.state != OPEN:
                continue
            await close_hearing(session, ctx, Actor("aarshjul (deadline)"), hearing_id)
        closed.append(hearing_id)
        log_event(log, "hearing-auto-closed", hearing=hearing_id)
    return closed


async def open_hearing_once(
    ctx: AppContext, actor: Actor, draft: HearingDraft, *, request_key: str | None = None
) -> OpenResult:
    """:func:`open_hearing` in its own transaction; a concurrent twin finds the first."""
    try:
        async with ctx.db.transaction() as session:
            return await open_hearing(session, ctx, actor, draft, request_key=request_key)
    except IntegrityError:
        if not request_key:
            raise
        async with ctx.db.session() as session:
            existing = await session.scalar(
                select(Hearing).where(Hearing.request_key == request_key)
            )
            if existing is None:
                raise
            council = await session.get(Council, existing.council_id)
            assert council is not None
            return OpenResult(existing, council, created=False)
