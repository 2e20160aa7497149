"""Lists of hearings and councils: what a person sees in /hearing list, App Home and the CLI.

Split out of :mod:`bot.services.hearings` so that the list queries (which must stay bounded:
filtered and paged in SQL, issue 10) live apart from the hearing state changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.hearings import OPEN
from storage.models import (
    Absence,
    Council,
    Hearing,
    HearingAnswer,
    HearingInvitee,
    Membership,
    Person,
)


async def list_hearings(
    session: AsyncSession, council_key: str | None = None, *, state: str | None = None
) -> list[tuple[Hearing, Council, int, int]]:
    """Hearings (newest first) with their council, invitee and answer counts."""
    query = select(Hearing, Council).join(Council, col(Council.id) == Hearing.council_id)
    if council_key:
        council = await get_council(session, council_key)
        query = query.where(Hearing.council_id == council.id)
    if state:
        query = query.where(Hearing.state == state)
    rows = (await session.execute(query.order_by(col(Hearing.id).desc()))).all()
    result = []
    for hearing, council in rows:
        invited = len(
            (
                await session.execute(
                    select(HearingInvitee.id).where(HearingInvitee.hearing_id == hearing.id)
                )
            ).all()
        )
        answered = len(
            (
                await session.execute(
                    select(HearingAnswer.id).where(HearingAnswer.hearing_id == hearing.id)
                )
            ).all()
        )
        result.append((hearing, council, invited, answered))
    return result


async def councils_of(
    session: AsyncSession, person: Person, roles: Sequence[str] | None = None
) -> list[Council]:
    query = (
        select(Council)
        .join(Membership, col(Membership.council_id) == Council.id)
        .where(Membership.person_id == person.id, col(Council.active).is_(True))
        .order_by(col(Council.name))
    )
    if roles:
        query = query.where(col(Membership.role).in_(list(roles)))
    return list((await session.execute(query)).scalars())


async def awaiting(
    session: AsyncSession, ctx: AppContext, person: Person
) -> list[tuple[Hearing, Council]]:
    """Open hearings waiting for ``person``'s answer (or a member's they stand in for)."""
    today = ctx.today()
    seats_ids = select(Absence.person_id).where(
        Absence.substitute_id == person.id, col(Absence.start) <= today, col(Absence.end) >= today
    )
    rows = await session.execute(
        select(Hearing, Council, HearingInvitee.person_id)
        .join(HearingInvitee, col(HearingInvitee.hearing_id) == Hearing.id)
        .join(Council, col(Council.id) == Hearing.council_id)
        .where(
            Hearing.state == OPEN,
            (col(HearingInvitee.person_id) == person.id)
            | col(HearingInvitee.person_id).in_(seats_ids),
        )
        .order_by(col(Hearing.deadline), col(Hearing.id))
    )
    answered = {
        (a.hearing_id, a.person_id)
        for a in (
            await session.execute(
                select(HearingAnswer).where(
                    col(HearingAnswer.person_id).in_(
                        select(HearingInvitee.person_id).where(
                            (col(HearingInvitee.person_id) == person.id)
                            | col(HearingInvitee.person_id).in_(seats_ids)
                        )
                    )
                )
            )
        ).scalars()
    }
    found: dict[int, tuple[Hearing, Council]] = {}
    for hearing, council, seat_id in rows.all():
        if (hearing.id, seat_id) not in answered:
            found.setdefault(hearing.id or 0, (hearing, council))
    return list(found.values())
