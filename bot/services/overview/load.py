"""Read one region's year for the overview: a fixed number of bounded queries.

However many LBRs a region has, the overview costs the same handful of statements:
the LBRs, their milestone events, the hearings and meetings tied to them, the answer
counts, the open deviations and the unanswered recommendations. Nothing is loaded
to be filtered in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ResultsConfig
from bot.i18n import user_error
from bot.services.councils import get_council
from bot.services.overview.cells import (
    MILESTONES,
    Deviation,
    EventFacts,
    HearingFacts,
    LbrRow,
    MeetingFacts,
    MilestoneKind,
    Recommendation,
    RegionOverview,
    classify,
)
from bot.services.results.queries import open_deviations
from scheduler.errors import InputError
from storage.models import Council, CycleEvent, Hearing, HearingAnswer, HearingInvitee, Meeting
from storage.recommendations import Recommendation as RecommendationRow


async def region_overview(
    session: AsyncSession,
    rbr_key: str,
    year: int,
    *,
    today: date,
    tz: ZoneInfo,
    results: ResultsConfig | None = None,
) -> RegionOverview:
    """The overview of the RBR ``rbr_key`` for ``year``, as of ``today``.

    Raises:
        NotFoundError: no such council.
        InputError: the council is not an RBR.
    """
    rbr = await get_council(session, rbr_key)
    if rbr.kind != "RBR":
        raise user_error(InputError, "overview.not_rbr", council=rbr.key)
    lbrs = list(
        (
            await session.exec(
                select(Council)
                .where(Council.region_id == rbr.id, col(Council.active))
                .order_by(col(Council.name), col(Council.key))
            )
        ).all()
    )
    overview = RegionOverview(rbr.key, rbr.name, year, today)
    if not lbrs:
        return overview
    ids = [c.id for c in lbrs if c.id is not None]
    facts = await _facts(session, ids, year, tz)
    assert rbr.id is not None
    deviations = await open_deviations_by_council(session, rbr.id, results)
    recommendations = await unanswered_recommendations_by_council(session, ids, tz)
    for council in lbrs:
        assert council.id is not None
        row = LbrRow(council.key, council.name)
        for m in MILESTONES:
            row.cells[m.key] = classify(m, facts.get((council.id, m.key)), today)
        row.deviations = deviations.get(council.id, [])
        row.recommendations = recommendations.get(council.id, [])
        overview.rows.append(row)
    return overview


async def _facts(
    session: AsyncSession, ids: Sequence[int], year: int, tz: ZoneInfo
) -> dict[tuple[int, str], EventFacts]:
    by_template = {m.template_key: m for m in MILESTONES}
    events = (
        await session.exec(
            select(CycleEvent).where(
                col(CycleEvent.council_id).in_(ids),
                CycleEvent.year == year,
                col(CycleEvent.template_key).in_(list(by_template)),
            )
        )
    ).all()
    event_ids = [e.id for e in events if e.id is not None]
    hearings = await _hearings(session, ids, event_ids, year, tz)
    meetings = await _meetings(session, event_ids, tz)
    out: dict[tuple[int, str], EventFacts] = {}
    for e in events:
        m = by_template[e.template_key]
        hearing = meeting = None
        if m.kind is MilestoneKind.HEARING:
            hearing = hearings.get((e.council_id, e.id)) or hearings.get((e.council_id, m.subject))
        elif m.kind is MilestoneKind.MEETING:
            meeting = meetings.get(e.id)
        out[(e.council_id, m.key)] = EventFacts(e.date, e.status, hearing, meeting)
    return out


async def _hearings(
    session: AsyncSession, ids: Sequence[int], event_ids: Sequence[int], year: int, tz: ZoneInfo
) -> dict[tuple[int, object], HearingFacts]:
    """The hearings of those councils tied to a milestone event, or of its subject that year.

    Keyed by (council, event id) and by (council, subject); the newest hearing wins.
    """
    subjects = [m.subject for m in MILESTONES if m.subject]
    tied = or_(
        col(Hearing.cycle_event_id).in_(event_ids) if event_ids else False,
        and_(
            col(Hearing.subject).in_(subjects),
            col(Hearing.deadline) >= date(year, 1, 1),
            col(Hearing.deadline) <= date(year, 12, 31),
        ),
    )
    chosen = select(Hearing.id).where(col(Hearing.council_id).in_(ids), tied).subquery()
    invited = (
        select(HearingInvitee.hearing_id, func.count().label("n"))
        .where(col(HearingInvitee.hearing_id).in_(select(chosen.c.id)))
        .group_by(col(HearingInvitee.hearing_id))
        .subquery()
    )
    answered = (
        select(HearingAnswer.hearing_id, func.count().label("n"))
        .where(col(HearingAnswer.hearing_id).in_(select(chosen.c.id)))
        .group_by(col(HearingAnswer.hearing_id))
        .subquery()
    )
    query = (
        select(
            Hearing.id,
            Hearing.council_id,
            Hearing.cycle_event_id,
            Hearing.subject,
            Hearing.state,
            Hearing.deadline,
            Hearing.closed_at,
            func.coalesce(invited.c.n, 0),
            func.coalesce(answered.c.n, 0),
        )
        .join(chosen, chosen.c.id == Hearing.id)
        .outerjoin(invited, invited.c.hearing_id == Hearing.id)
        .outerjoin(answered, answered.c.hearing_id == Hearing.id)
        .order_by(col(Hearing.id))
    )
    out: dict[tuple[int, object], HearingFacts] = {}
    for _id, council_id, event_id, subject, state, deadline, closed_at, n_inv, n_ans in (
        await session.execute(query)
    ).all():
        facts = HearingFacts(state, deadline, _local_date(closed_at, tz), int(n_inv), int(n_ans))
        # Ordered by id: a newer hearing of the same milestone replaces an older one.
        if event_id is not None:
            out[(council_id, event_id)] = facts
        if subject in subjects and deadline.year == year:
            out[(council_id, subject)] = facts
    return out


async def _meetings(
    session: AsyncSession, event_ids: Sequence[int], tz: ZoneInfo
) -> dict[int, MeetingFacts]:
    if not event_ids:
        return {}
    rows = (
        await session.execute(
            select(Meeting.cycle_event_id, Meeting.state, Meeting.start_at, Meeting.sent_sequence)
            .where(col(Meeting.cycle_event_id).in_(event_ids))
            .order_by(col(Meeting.id))
        )
    ).all()
    return {
        event_id: MeetingFacts(state, start.astimezone(tz).date(), sent is not None)
        for event_id, state, start, sent in rows
    }


def _local_date(at: datetime | None, tz: ZoneInfo) -> date | None:
    return at.astimezone(tz).date() if at is not None else None


async def open_deviations_by_council(
    session: AsyncSession, rbr_id: int, results: ResultsConfig | None
) -> dict[int, list[Deviation]]:
    """Open deviation alerts per LBR of the region (the results watch), in one query."""
    out: dict[int, list[Deviation]] = {}
    for d in await open_deviations(session, rbr_id, results):
        if d.percent is not None and d.threshold_kind == "percent":
            how = f"{d.percent:+.1f} %"
        else:
            how = f"{d.difference:+.1f} {d.unit}".rstrip()
        out.setdefault(d.council_id, []).append(
            Deviation(d.measure, d.measure_da, d.measure_en, d.since, how)
        )
    return out


async def unanswered_recommendations_by_council(
    session: AsyncSession, ids: Sequence[int], tz: ZoneInfo
) -> dict[int, list[Recommendation]]:
    """Recommendations sent by or to each LBR and not answered yet, in one query."""
    rows = (
        await session.execute(
            select(
                RecommendationRow.id,
                RecommendationRow.from_council_id,
                RecommendationRow.to_council_id,
                RecommendationRow.title,
                RecommendationRow.sent_at,
            )
            .where(
                RecommendationRow.state == "sent",
                or_(
                    col(RecommendationRow.from_council_id).in_(ids),
                    col(RecommendationRow.to_council_id).in_(ids),
                ),
            )
            .order_by(col(RecommendationRow.sent_at), col(RecommendationRow.id))
        )
    ).all()
    wanted = set(ids)
    out: dict[int, list[Recommendation]] = {}
    for rec_id, sender, receiver, title, sent_at in rows:
        shown = Recommendation(int(rec_id), title, _local_date(sent_at, tz))
        for council_id in {sender, receiver} & wanted:
            out.setdefault(council_id, []).append(shown)
    return out
