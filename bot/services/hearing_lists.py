"""Lists of hearings and councils: what a person sees in /hearing list, App Home and the CLI.

Split out of :mod:`bot.services.hearings` so that the list queries live apart from the
hearing state changes. Every list here is a bounded query (issue 10): filtered to the
asker's councils and paged in SQL, newest first, :data:`PAGE_SIZE` rows at a time, with
the counts of invitees and answers computed by grouped subqueries in the same statement.
Nothing loads a table to filter it in Python, so a council with 20,000 hearings costs the
members of another council nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, exists, func
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

#: Rows per page in Slack (/hearing list, /seminar list, App Home) and the CLI by default.
PAGE_SIZE = 20
R = TypeVar("R")
HearingRow = tuple[Hearing, Council, int, int]


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a list: its rows, where it starts, and where the next one starts.

    ``next_offset`` is None on the last page, so a caller shows a "vis flere" button
    exactly when there is more to show.
    """

    rows: list[R]
    offset: int
    next_offset: int | None


def page_of(rows: Sequence[R], offset: int, limit: int) -> Page[R]:
    """The page from rows fetched with ``LIMIT limit + 1``: the extra row means "more"."""
    more = len(rows) > limit
    return Page(list(rows[:limit]), offset, offset + limit if more else None)


def member_councils(person: Person) -> Select[Any]:
    """The ids of the active councils where ``person`` has a membership (a subquery)."""
    return (
        select(Membership.council_id)
        .join(Council, col(Council.id) == Membership.council_id)
        .where(Membership.person_id == person.id, col(Council.active).is_(True))
    )


async def list_hearings(
    session: AsyncSession,
    council_key: str | None = None,
    *,
    person: Person | None = None,
    state: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[HearingRow]:
    """One page of hearings (newest first) with their council, invitee and answer counts.

    ``council_key`` narrows to one council; ``person`` to the councils where that person
    is a member (what Slack shows them). One statement: the page's ids are chosen by an
    indexed ``ORDER BY id DESC LIMIT`` and only those hearings' invitees and answers are
    counted.
    """
    ids = select(Hearing.id)
    if council_key:
        council = await get_council(session, council_key)
        ids = ids.where(Hearing.council_id == council.id)
    if person is not None:
        ids = ids.where(col(Hearing.council_id).in_(member_councils(person)))
    if state:
        ids = ids.where(Hearing.state == state)
    page = ids.order_by(col(Hearing.id).desc()).offset(offset).limit(limit + 1).subquery()
    in_page = select(page.c.id)
    invited = (
        select(HearingInvitee.hearing_id, func.count().label("n"))
        .where(col(HearingInvitee.hearing_id).in_(in_page))
        .group_by(col(HearingInvitee.hearing_id))
        .subquery()
    )
    answered = (
        select(HearingAnswer.hearing_id, func.count().label("n"))
        .where(col(HearingAnswer.hearing_id).in_(in_page))
        .group_by(col(HearingAnswer.hearing_id))
        .subquery()
    )
    query = (
        select(Hearing, Council, func.coalesce(invited.c.n, 0), func.coalesce(answered.c.n, 0))
        .join(page, page.c.id == Hearing.id)
        .join(Council, col(Council.id) == Hearing.council_id)
        .outerjoin(invited, invited.c.hearing_id == Hearing.id)
        .outerjoin(answered, answered.c.hearing_id == Hearing.id)
        .order_by(col(Hearing.id).desc())
    )
    rows = [(h, c, int(i), int(a)) for h, c, i, a in (await session.execute(query)).all()]
    return page_of(rows, offset, limit)


async def councils_of(
    session: AsyncSession, person: Person, roles: Sequence[str] | None = None
) -> list[Council]:
    """The active councils where ``person`` is a member (with one of ``roles``), by name."""
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
    session: AsyncSession,
    ctx: AppContext,
    person: Person,
    *,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[tuple[Hearing, Council]]:
    """Open hearings waiting for ``person``'s answer (or a member's they stand in for).

    Soonest deadline first (what to answer next), a page at a time; whether a seat has
    answered is a ``NOT EXISTS`` in the same statement, not a set built in Python.
    """
    today = ctx.today()
    seats_ids = select(Absence.person_id).where(
        Absence.substitute_id == person.id, col(Absence.start) <= today, col(Absence.end) >= today
    )
    unanswered = select(HearingInvitee.hearing_id).where(
        (col(HearingInvitee.person_id) == person.id) | col(HearingInvitee.person_id).in_(seats_ids),
        ~exists().where(
            col(HearingAnswer.hearing_id) == HearingInvitee.hearing_id,
            col(HearingAnswer.person_id) == HearingInvitee.person_id,
        ),
    )
    query = (
        select(Hearing, Council)
        .join(Council, col(Council.id) == Hearing.council_id)
        .where(Hearing.state == OPEN, col(Hearing.id).in_(unanswered))
        .order_by(col(Hearing.deadline), col(Hearing.id))
        .offset(offset)
        .limit(limit + 1)
    )
    rows = [(h, c) for h, c in (await session.execute(query)).all()]
    return page_of(rows, offset, limit)
