"""Reading recommendations: the list, one in full, and what a meeting's agenda holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Council
from storage.recommendations import Recommendation


@dataclass(frozen=True)
class AgendaRecommendation:
    """A recommendation as a meeting's agenda lists it.

    ``to_key``/``to_name`` are the receiving council's, or both the e-mail address
    for a body outside the bot (``to_council_id`` is then None). ``direction`` is
    ``sent`` when the agenda's council sent it, ``received`` when it received it.
    """

    id: int
    title: str
    from_council_id: int
    from_key: str
    from_name: str
    to_council_id: int | None
    to_key: str
    to_name: str
    state: str
    sent_at: datetime | None
    answered_at: datetime | None
    direction: str


async def recommendations_for_agenda(
    session: AsyncSession, council_id: int, since: datetime, until: datetime
) -> list[AgendaRecommendation]:
    """The recommendations a council sent or received that were sent or answered in
    ``[since, until)`` (UTC instants: the last meeting and this one), oldest first.

    A draft or an agreed one not yet sent is not on the agenda: it has not left the
    council. One both sent and answered in the window is listed once.
    """
    sender, receiver = aliased(Council), aliased(Council)
    r = Recommendation
    in_window = or_(
        and_(col(r.sent_at) >= since, col(r.sent_at) < until),
        and_(col(r.answered_at) >= since, col(r.answered_at) < until),
    )
    rows = await session.execute(
        select(r, sender, receiver)
        .join(sender, col(sender.id) == r.from_council_id)
        .outerjoin(receiver, col(receiver.id) == r.to_council_id)
        .where(
            or_(col(r.from_council_id) == council_id, col(r.to_council_id) == council_id),
            in_window,
        )
        .order_by(col(r.sent_at), col(r.id))
    )
    found = []
    for rec, frm, to in rows.all():
        found.append(
            AgendaRecommendation(
                id=rec.id or 0,
                title=rec.title,
                from_council_id=frm.id or 0,
                from_key=frm.key,
                from_name=frm.name,
                to_council_id=to.id if to is not None else None,
                to_key=to.key if to is not None else rec.to_email or "",
                to_name=to.name if to is not None else rec.to_email or "",
                state=rec.state,
                sent_at=rec.sent_at,
                answered_at=rec.answered_at,
                direction="sent" if rec.from_council_id == council_id else "received",
            )
        )
    return found
