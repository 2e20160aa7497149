"""Where an agenda's items come from besides what a secretariat types: what is due.

Each source is an async function ``(session, window) -> list[Candidate]``; the
agenda takes every candidate whose ``source`` it does not hold yet, so running
them again adds nothing. :data:`SOURCES` lists them in the order their items are
appended: open deviation alerts, recommendations sent or answered since the last
meeting, hearings open or closing before the next meeting, and the cycle's
deadlines until the meeting after this one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t
from storage.models import Council, CycleEvent, Hearing, Meeting


@dataclass(frozen=True)
class Window:
    """The stretch of time an agenda covers.

    ``since`` is the start of the council's previous meeting (or ``HORIZON_DAYS``
    before this one), ``until`` this meeting's start, ``after`` the start of the
    council's next meeting after this one (or ``HORIZON_DAYS`` after it).
    """

    council: Council
    meeting: Meeting
    since: datetime
    until: datetime
    after: datetime
    tz: tzinfo
    language: str
    #: ``settings.results`` (the measures' names), when the caller has the configuration.
    results: Any = None

    def day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()


@dataclass(frozen=True)
class Candidate:
    """An item a source proposes; ``title`` and ``text`` in the council's language."""

    source: str
    kind: str
    title: str
    text: str = ""


Source = Callable[[AsyncSession, Window], Awaitable[list[Candidate]]]


async def deviations_due(session: AsyncSession, window: Window) -> list[Candidate]:
    """The open deviation alerts of the council's jobcentre (for an RBR: of its LBRs)."""
    from bot.services.results import open_deviations

    lang = window.language
    found = []
    for d in await open_deviations(session, window.council.id or 0, window.results):
        percent = f", {_number(d.percent, lang)} %" if d.percent is not None else ""
        unit = f" {d.unit}" if d.unit else ""
        found.append(
            Candidate(
                source=f"deviation:{d.id}",
                kind="deviation",
                title=t(
                    lang,
                    "agenda.source.deviation",
                    council=d.council_name,
                    measure=d.measure_name(lang),
                ),
                text=t(
                    lang,
                    "agenda.source.deviation_text",
                    since=d.since_label(lang),
                    value=_number(d.value, lang) + unit,
                    mean=_number(d.group_mean, lang) + unit,
                    difference=_number(d.difference, lang) + unit + percent,
                    threshold=_number(d.threshold, lang)
                    + (" %" if d.threshold_kind == "percent" else unit),
                    agreed_on=format_date(d.agreed_on, lang) if d.agreed_on else "-",
                    agreed_with=d.agreed_with or "-",
                ),
            )
        )
    return found


def _number(value: float, lang: str) -> str:
    """``12,5`` in Danish, ``12.5`` in English; signed differences keep their sign."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "da" else text


async def recommendations_due(session: AsyncSession, window: Window) -> list[Candidate]:
    """Recommendations the council sent or received, sent or answered since the last
    meeting (``since`` up to this meeting's start)."""
    from bot.services.recommendations import recommendations_for_agenda

    lang = window.language
    found = []
    for r in await recommendations_for_agenda(
        session, window.council.id or 0, window.since, window.until
    ):
        key = "sent" if r.direction == "sent" else "received"
        other = r.to_name if r.direction == "sent" else r.from_name
        state = t(lang, "agenda.source.recommendation_answered") if r.answered_at else ""
        found.append(
            Candidate(
                source=f"recommendation:{r.id}",
                kind="recommendation",
                title=t(lang, f"agenda.source.recommendation.{key}", title=r.title, other=other),
                text=state,
            )
        )
    return found


async def hearings_due(session: AsyncSession, window: Window) -> list[Candidate]:
    """The council's open hearings, and those whose deadline falls between the last
    meeting and the next one (closed since, or closing before it)."""
    lang = window.language
    first, last = window.day(window.since), window.day(window.after)
    rows = await session.execute(
        select(Hearing)
        .where(
            Hearing.council_id == window.council.id,
            or_(
                col(Hearing.state) == "open",
                (col(Hearing.deadline) >= first) & (col(Hearing.deadline) < last),
            ),
        )
        .order_by(col(Hearing.deadline), col(Hearing.id))
    )
    found = []
    for h in rows.scalars():
        key = "hearing_open" if h.state == "open" else "hearing_closed"
        text = t(lang, f"agenda.source.{key}", date=format_date(h.deadline, lang, long=True))
        if h.document_url:
            text += "\n" + t(lang, "agenda.source.document", url=h.document_url)
        found.append(
            Candidate(
                source=f"hearing:{h.id}",
                kind="hearing",
                title=t(lang, "agenda.source.hearing", title=h.title),
                text=text,
            )
        )
    return found


async def deadlines_due(session: AsyncSession, window: Window) -> list[Candidate]:
    """The council's cycle deadlines from this meeting's day until the meeting after."""
    lang = window.language
    first, last = window.day(window.until), window.day(window.after)
    rows = await session.execute(
        select(CycleEvent)
        .where(
            CycleEvent.council_id == window.council.id,
            col(CycleEvent.type) == "deadline",
            col(CycleEvent.date) >= first,
            col(CycleEvent.date) < last,
        )
        .order_by(col(CycleEvent.date), col(CycleEvent.id))
    )
    return [
        Candidate(
            source=f"cycle:{e.id}",
            kind="deadline",
            title=t(
                lang,
                "agenda.source.deadline",
                title=e.title_en if lang == "en" else e.title_da,
                date=format_date(e.date, lang),
            ),
            text=t(lang, "agenda.source.deadline_text", date=format_date(e.date, lang, long=True)),
        )
        for e in rows.scalars()
    ]


#: The sources in the order their items are appended to an agenda.
SOURCES: list[Source] = [deviations_due, recommendations_due, hearings_due, deadlines_due]
