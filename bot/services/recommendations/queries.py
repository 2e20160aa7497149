"""Reading recommendations: the list, one in full, and what a meeting's agenda holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.hearing_lists import PAGE_SIZE, Page, page_of
from storage.models import Council, Membership, Person
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


RecommendationRow = tuple[Recommendation, Council, Council | None]


async def list_recommendations(
    session: AsyncSession,
    council_key: str | None = None,
    *,
    person: Person | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[RecommendationRow]:
    """Recommendations sent or received by a council (all, or the ``person``'s
    councils), newest first, one SQL page at a time."""
    sender, receiver = aliased(Council), aliased(Council)
    r = Recommendation
    query = (
        select(r, sender, receiver)
        .join(sender, col(sender.id) == r.from_council_id)
        .outerjoin(receiver, col(receiver.id) == r.to_council_id)
    )
    if council_key:
        council = await get_council(session, council_key)
        query = query.where(
            or_(col(r.from_council_id) == council.id, col(r.to_council_id) == council.id)
        )
    if person is not None:
        mine = select(Membership.council_id).where(Membership.person_id == person.id)
        query = query.where(or_(col(r.from_council_id).in_(mine), col(r.to_council_id).in_(mine)))
    rows = await session.execute(query.order_by(col(r.id).desc()).offset(offset).limit(limit + 1))
    return page_of([tuple(row) for row in rows.all()], offset, limit)  # type: ignore[misc]


def receiver_name(rec: Recommendation, receiver: Council | None) -> str:
    return receiver.name if receiver is not None else rec.to_email or "-"


def receiver_key(rec: Recommendation, receiver: Council | None) -> str:
    return receiver.key if receiver is not None else rec.to_email or "-"


@dataclass(frozen=True)
class RecommendationDetail:
    recommendation: Recommendation
    sender: Council
    receiver: Council | None
    about: Council | None
    yes: int
    no: int
    seats: int
    needed: int


async def recommendation_detail(
    session: AsyncSession, ctx: AppContext, rec_id: int | str
) -> RecommendationDetail:
    from bot.services.recommendations.agreeing import count_votes
    from bot.services.recommendations.common import (
        councils_of,
        get_recommendation,
        quorum,
        votes_needed,
    )

    rec = await get_recommendation(session, rec_id)
    sender, receiver = await councils_of(session, rec)
    about = await session.get(Council, rec.about_council_id) if rec.about_council_id else None
    yes, no, seats = await count_votes(session, rec.id or 0, sender.id or 0)
    return RecommendationDetail(
        rec, sender, receiver, about, yes, no, seats, votes_needed(quorum(ctx), seats)
    )


def _when(at: datetime | None, ctx: AppContext, language: str) -> str:
    if at is None:
        return "-"
    local = at.astimezone(ctx.tz)
    return f"{format_date(local.date(), language, long=True)} {local:%H:%M}"


def detail_lines(detail: RecommendationDetail, ctx: AppContext, language: str) -> list[str]:
    """The recommendation in full as lines of text (the CLI's and Slack's ``show``)."""
    rec = detail.recommendation
    lang = language
    lines = [
        t(lang, "recommend.show.head", id=rec.id, title=rec.title),
        t(
            lang,
            "recommend.show.route",
            sender=detail.sender.name,
            receiver=receiver_name(rec, detail.receiver),
        ),
        t(lang, "recommend.show.state", state=t(lang, f"recommend.state.{rec.state}")),
    ]
    if detail.about is not None:
        lines.append(
            t(lang, "recommend.show.about", council=detail.about.name, measure=rec.about_measure)
        )
    lines.append(
        t(lang, "recommend.show.created", by=rec.created_by, when=_when(rec.created_at, ctx, lang))
    )
    if rec.agreed_at is not None:
        key = (
            "recommend.show.agreed_meeting"
            if rec.agreed_how == "meeting"
            else "recommend.show.agreed_vote"
        )
        lines.append(
            t(
                lang,
                key,
                date=format_date(rec.agreed_meeting, lang, long=True)
                if rec.agreed_meeting
                else "-",
                when=_when(rec.agreed_at, ctx, lang),
                by=rec.agreed_by or "-",
            )
        )
    elif rec.vote_opened_at is not None:
        lines.append(
            t(
                lang,
                "recommend.show.votes",
                yes=detail.yes,
                no=detail.no,
                seats=detail.seats,
                needed=detail.needed,
            )
        )
    if rec.sent_at is not None:
        lines.append(
            t(
                lang,
                "recommend.show.sent",
                when=_when(rec.sent_at, ctx, lang),
                by=rec.sent_by or "-",
            )
        )
    if rec.answered_at is not None:
        lines.append(
            t(
                lang,
                "recommend.show.answered",
                when=_when(rec.answered_at, ctx, lang),
                by=rec.answered_by or "-",
            )
        )
    lines.append("")
    lines.append(rec.text)
    if rec.answer_text:
        lines.append("")
        lines.append(t(lang, "recommend.show.answer"))
        lines.append(rec.answer_text)
    return lines


def recommendation_json(
    rec: Recommendation, sender: Council, receiver: Council | None
) -> dict[str, Any]:
    """One recommendation for ``list --json``."""

    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "id": rec.id,
        "from": sender.key,
        "to": receiver_key(rec, receiver),
        "to_email": rec.to_email,
        "title": rec.title,
        "state": rec.state,
        "about_measure": rec.about_measure,
        "agreed_how": rec.agreed_how,
        "agreed_meeting": rec.agreed_meeting.isoformat() if rec.agreed_meeting else None,
        "created_at": iso(rec.created_at),
        "agreed_at": iso(rec.agreed_at),
        "sent_at": iso(rec.sent_at),
        "answered_at": iso(rec.answered_at),
    }
