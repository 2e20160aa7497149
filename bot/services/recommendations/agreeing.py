"""Agreeing a draft: at a council meeting (recorded by the secretariat), or by a vote.

The vote: the secretariat opens it (``agree ID`` without ``--meeting``); each voting
member (the members and the chair of the sending council, not observers nor the
secretariat) gets a message with a yes and a no button. Each vote is stored under the
recommendation's row lock and the votes are counted in the same transaction: the
draft is agreed when the yes votes reach ``ceil(quorum × voting seats)`` (at least
one), where ``quorum`` is ``[recommendations] quorum`` or else the council's
``[hearings] quorum`` and the seats are counted as they stand at that vote. A member
may change their vote while the draft is open; after the agreement votes are refused.
No votes cannot agree a draft; when so many have said no that the yes votes can no
longer reach the quorum, the vote is lost and the secretariat is told (the draft
stays a draft and may be agreed at a meeting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.recommendations.common import (
    AGREED,
    ALREADY,
    DRAFT,
    MESSAGE_PREFIX,
    VOTING_ROLES,
    Actor,
    Step,
    audited,
    councils_of,
    get_recommendation,
    message,
    quorum,
    refused,
    require_secretary,
    role_in,
    votes_needed,
)
from bot.services.reminders import load_audiences, person_recipients
from scheduler.errors import InputError
from storage import audit, outbox
from storage.models import Council, Membership, OutboxMessage, Person
from storage.recommendations import Recommendation, RecommendationVote

#: The condition of a vote's messages: the draft is still open for votes at delivery.
STILL_DRAFT = "recommendation_still_draft"
YES, NO = "yes", "no"


def _not_draft(rec: Recommendation) -> Exception:
    return user_error(InputError, ALREADY[rec.state], id=rec.id, title=rec.title)


async def agree_at_meeting(ctx: AppContext, actor: Actor, rec_id: int | str, meeting: date) -> Step:
    """Record that the council agreed the draft at its meeting on ``meeting``."""

    async def work(session: AsyncSession) -> Step:
        rec = await get_recommendation(session, rec_id, lock=True)
        sender, receiver = await councils_of(session, rec)
        await require_secretary(session, actor, sender, "agree", rec.id)
        if rec.state != DRAFT:
            raise _not_draft(rec)
        today = ctx.today()
        if meeting > today:
            raise user_error(InputError, "recommend.error.future_meeting", date=meeting.isoformat())
        if meeting < today - timedelta(days=366):
            raise user_error(InputError, "recommend.error.old_meeting", date=meeting.isoformat())
        await _agree(session, ctx, rec, sender, how="meeting", by=actor.label, meeting=meeting)
        return Step(rec, sender, receiver)

    return await audited(ctx, actor, work)


async def _agree(
    session: AsyncSession,
    ctx: AppContext,
    rec: Recommendation,
    sender: Council,
    *,
    how: str,
    by: str,
    meeting: date | None = None,
    **details: object,
) -> None:
    now = ctx.clock.now()
    rec.state = AGREED
    rec.agreed_how = how
    rec.agreed_meeting = meeting
    rec.agreed_by = by[:200]
    rec.agreed_at = now
    rec.updated_at = now
    session.add(rec)
    audit.record(
        session,
        at=now,
        actor=by,
        action="recommendation.agreed",
        entity="recommendation",
        entity_id=rec.id,
        how=how,
        meeting=meeting,
        **details,
    )
    await session.flush()
    await withdraw_vote(session, rec.id or 0, now=now)


async def withdraw_vote(session: AsyncSession, rec_id: int, *, now: object) -> int:
    """Skip the vote messages still pending: the draft is no longer open for votes."""
    t = OutboxMessage.__table__
    ids = (
        await session.execute(
            select(t.c.id).where(
                t.c.source == f"{MESSAGE_PREFIX}{rec_id}",
                t.c.state == outbox.PENDING,
                t.c.key.startswith(f"{MESSAGE_PREFIX}{rec_id}/vote/", autoescape=True),
            )
        )
    ).scalars()
    return await outbox.skip(session, list(ids), "withdrawn: the vote is over", now=now)  # type: ignore[arg-type]


async def voters(session: AsyncSession, council_id: int) -> list[Person]:
    """The voting seats of a council (members and the chair), by name."""
    rows = await session.execute(
        select(Person)
        .join(Membership, col(Membership.person_id) == Person.id)
        .where(Membership.council_id == council_id, col(Membership.role).in_(VOTING_ROLES))
        .order_by(col(Person.name), col(Person.id))
    )
    return list(rows.scalars())


async def open_vote(ctx: AppContext, actor: Actor, rec_id: int | str) -> tuple[Step, int]:
    """Put a draft to the sending council's vote: a message with yes/no to each voter.

    Returns the step and how many voting seats were asked. Opening it again asks
    nobody twice (the messages' keys are per voter).
    """

    async def work(session: AsyncSession) -> tuple[Step, int]:
        rec = await get_recommendation(session, rec_id, lock=True)
        sender, receiver = await councils_of(session, rec)
        await require_secretary(session, actor, sender, "agree", rec.id)
        if rec.state != DRAFT:
            raise _not_draft(rec)
        seats = await voters(session, sender.id or 0)
        if not seats:
            raise user_error(InputError, "recommend.error.no_voters", council=sender.name)
        now = ctx.clock.now()
        if rec.vote_opened_at is None:
            rec.vote_opened_at = now
            rec.vote_opened_by = actor.label
            rec.updated_at = now
            session.add(rec)
            audit.record(
                session,
                at=now,
                actor=actor.label,
                action="recommendation.vote_opened",
                entity="recommendation",
                entity_id=rec.id,
                seats=len(seats),
                needed=votes_needed(quorum(ctx), len(seats)),
            )
        planned = [
            replace(
                message(ctx, rec, "vote", r, sender.id, now, slot="vote"),
                condition=STILL_DRAFT,
            )
            for person in seats
            for r in person_recipients(person, ctx)
        ]
        await outbox.enqueue(session, planned, now=now)
        return Step(rec, sender, receiver), len(seats)

    return await audited(ctx, actor, work)


@dataclass(frozen=True)
class VoteResult:
    step: Step
    vote: str
    yes: int
    no: int
    seats: int
    needed: int
    #: This vote agreed the draft.
    agreed: bool
    #: This vote made agreement impossible (the secretariat is told).
    lost: bool


async def cast_vote(
    ctx: AppContext, person: Person, user_label: str, rec_id: int | str, vote: str
) -> VoteResult:
    """Store one member's vote and count, under the recommendation's row lock."""
    actor = Actor(user_label, person)
    if vote not in (YES, NO):
        raise user_error(InputError, "recommend.error.bad_vote", value=vote[:20])

    async def work(session: AsyncSession) -> VoteResult:
        rec = await get_recommendation(session, rec_id, lock=True)
        sender, receiver = await councils_of(session, rec)
        if await role_in(session, person.id, sender.id or 0) not in VOTING_ROLES:
            raise refused(
                "recommend.error.not_voter",
                verb="vote",
                actor=actor,
                council=sender,
                rec_id=rec.id,
            )
        if rec.state != DRAFT:
            raise _not_draft(rec)
        if rec.vote_opened_at is None:
            raise user_error(InputError, "recommend.error.no_vote", id=rec.id)
        now = ctx.clock.now()
        mine = await session.scalar(
            select(RecommendationVote).where(
                RecommendationVote.recommendation_id == rec.id,
                RecommendationVote.person_id == person.id,
            )
        )
        before = mine.vote if mine else None
        if mine is None:
            mine = RecommendationVote(
                recommendation_id=rec.id or 0, person_id=person.id or 0, vote=vote, voted_at=now
            )
        else:
            mine.vote, mine.voted_at = vote, now
        session.add(mine)
        if before != vote:
            audit.record(
                session,
                at=now,
                actor=actor.label,
                action="recommendation.voted",
                entity="recommendation",
                entity_id=rec.id,
                vote=vote,
                before=before,
            )
        await session.flush()
        yes, no, seats = await count_votes(session, rec.id or 0, sender.id or 0)
        needed = votes_needed(quorum(ctx), seats)
        agreed = yes >= needed
        # Lost: this very no made the quorum out of reach (the no before it had not).
        lost = not agreed and vote == NO and before != NO and no - 1 <= seats - needed < no
        if agreed:
            await _agree(
                session,
                ctx,
                rec,
                sender,
                how="vote",
                by=actor.label,
                yes=yes,
                no=no,
                seats=seats,
                needed=needed,
            )
            await _tell_secretariat(session, ctx, rec, sender, "agreed")
        elif lost:
            await _tell_secretariat(session, ctx, rec, sender, "vote_lost")
        return VoteResult(Step(rec, sender, receiver), vote, yes, no, seats, needed, agreed, lost)

    return await audited(ctx, actor, work)


async def count_votes(session: AsyncSession, rec_id: int, council_id: int) -> tuple[int, int, int]:
    """(yes, no, voting seats): the votes of those who hold a voting seat now."""
    seated = select(Membership.person_id).where(
        Membership.council_id == council_id, col(Membership.role).in_(VOTING_ROLES)
    )
    rows = await session.execute(
        select(RecommendationVote.vote, func.count())
        .where(
            RecommendationVote.recommendation_id == rec_id,
            col(RecommendationVote.person_id).in_(seated),
        )
        .group_by(col(RecommendationVote.vote))
    )
    counts = {vote: int(n) for vote, n in rows.all()}
    seats = await session.scalar(select(func.count()).select_from(seated.subquery()))
    return counts.get(YES, 0), counts.get(NO, 0), int(seats or 0)


async def _tell_secretariat(
    session: AsyncSession, ctx: AppContext, rec: Recommendation, sender: Council, name: str
) -> None:
    now = ctx.clock.now()
    audience = (await load_audiences(session, ctx, [sender.id or 0]))[sender.id or 0]
    await outbox.enqueue(
        session,
        [message(ctx, rec, name, r, sender.id, now, slot=name) for r in audience.secretariat],
        now=now,
    )


async def still_draft(session: AsyncSession, row: OutboxMessage) -> bool:
    """Checked when a vote message goes out: the draft is still open for votes."""
    params = json.loads(row.payload or "{}").get("params", {})
    rec = await session.get(Recommendation, int(params.get("recommendation_id", 0)))
    return rec is not None and rec.state == DRAFT
