"""Lists of meetings: ``/seminar list`` and ``aarshjul seminar list``.

Bounded like the hearing lists (issue 10): filtered to the asker's councils (or the
meetings they are invited to) and paged in SQL, :data:`PAGE_SIZE` at a time, on the
``(council_id, start_at)`` index; coming meetings are listed soonest first, since the
next meeting is the one a member needs.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.councils import get_council
from bot.services.hearing_lists import PAGE_SIZE, Page, member_councils, page_of
from storage.models import Council, Meeting, MeetingInvitee, Person


async def upcoming_meetings(
    session: AsyncSession,
    now: datetime,
    *,
    person: Person | None = None,
    council_key: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[tuple[Meeting, Council]]:
    """One page of the meetings starting at or after ``now`` (with the organising
    council), soonest first.

    ``person`` narrows to the meetings of their councils and those they are invited
    to (what Slack shows them); ``council_key`` to one organising council.
    """
    query = (
        select(Meeting, Council)
        .join(Council, col(Council.id) == Meeting.council_id)
        .where(col(Meeting.start_at) >= now)
    )
    if council_key:
        council = await get_council(session, council_key)
        query = query.where(Meeting.council_id == council.id)
    if person is not None:
        invited = select(MeetingInvitee.meeting_id).where(MeetingInvitee.person_id == person.id)
        query = query.where(
            col(Meeting.council_id).in_(member_councils(person)) | col(Meeting.id).in_(invited)
        )
    query = query.order_by(col(Meeting.start_at), col(Meeting.id)).offset(offset).limit(limit + 1)
    rows = [(m, c) for m, c in (await session.execute(query)).all()]
    return page_of(rows, offset, limit)
