"""What each page shows, as plain values for its template (all text from the catalogue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select

from bot.i18n import t
from bot.services.app import AppContext
from bot.services.cycle import year_events
from bot.services.overview.cells import Cell, CellState, LbrRow, RegionOverview
from bot.services.overview.export import summary_line
from bot.services.overview.load import region_overview
from bot.services.overview.share import token_matches
from bot.web_pages.access import Access
from scheduler.errors import AarshjulError
from storage.models import Council, Hearing, HearingAnswer, HearingInvitee, Membership, Person


@dataclass
class Found:
    title: str = ""
    refused: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def start_links(access: Access | None, lang: str) -> list[dict[str, str]]:
    if access is None:
        return []
    links = []
    for key, name, kind in access.seats:
        if kind == "RBR":
            links.append({"url": f"/overview/{key}", "name": t(lang, "web.region_link", name=name)})
        else:
            links.append({"url": f"/council/{key}", "name": name})
    return links


def _day(d: date | None, lang: str) -> str:
    if d is None:
        return ""
    return d.strftime("%d.%m.%Y") if lang == "da" else d.isoformat()


def _cell(cell: Cell | None, lang: str) -> dict[str, str] | None:
    if cell is None:
        return None
    share = ""
    if cell.invited:
        share = t(lang, "overview.answered", answered=cell.answered, invited=cell.invited)
    return {
        "state": cell.state.value,
        "word": t(lang, f"overview.state.{cell.state.value}"),
        "date": _day(cell.on, lang),
        "share": share,
    }


def _row(row: LbrRow, view: RegionOverview, lang: str, *, linked: bool) -> dict[str, Any]:
    return {
        "name": row.name,
        "url": f"/council/{row.key}?lang={lang}" if linked else None,
        "cells": [_cell(row.cells.get(m.key), lang) for m in view.milestones],
        "deviations": [
            t(
                lang,
                "web.deviation",
                measure=d.name(lang),
                deviation=d.deviation.replace(".", ",") if lang == "da" else d.deviation,
                since=d.since,
            )
            for d in row.deviations
        ],
        "recommendations": [
            t(lang, "web.recommendation", title=r.title, sent=_day(r.sent_on, lang))
            if r.sent_on
            else t(lang, "web.recommendation_draft", title=r.title)
            for r in row.recommendations
        ],
    }


def overview_values(
    view: RegionOverview, lang: str, *, linked: bool, now: datetime
) -> dict[str, Any]:
    """The overview template's values for a region (also used by the benchmark)."""
    return {
        "summary": summary_line(view, lang),
        "caption": t(lang, "overview.title", region=view.rbr_name, year=view.year),
        "states": [
            {"key": s.value, "word": t(lang, f"overview.state.{s.value}")} for s in CellState
        ],
        "milestones": [t(lang, f"overview.milestone.{m.key}") for m in view.milestones],
        "col_council": t(lang, "overview.col.council"),
        "col_deviations": t(lang, "overview.col.deviations"),
        "col_recommendations": t(lang, "overview.col.recommendations"),
        "rows": [_row(r, view, lang, linked=linked) for r in view.rows],
        "updated": t(lang, "overview.updated", when=now.strftime("%Y-%m-%d %H:%M")),
    }


async def overview_page(
    ctx: AppContext, key: str, lang: str, *, access: Access | None, token: str | None
) -> Found | None:
    """None for an unknown region or a wrong share token (a 404 either way)."""
    year = ctx.today().year
    async with ctx.db.session() as session:
        rbr = (
            await session.exec(select(Council).where(Council.key == key.strip().lower()))
        ).first()
        if rbr is None or not rbr.active or rbr.kind != "RBR":
            return None
        if token is not None:
            if not token_matches(rbr, token):
                return None
        elif access is None or not access.may_see_region(rbr):
            return Found(refused=True)
        try:
            view = await region_overview(
                session,
                rbr.key,
                year,
                today=ctx.today(),
                tz=ctx.tz,
                results=ctx.config.settings.results,
            )
        except AarshjulError:
            return None
    now = ctx.clock.now().astimezone(ctx.tz)
    title = t(lang, "overview.title", region=view.rbr_name, year=view.year)
    return Found(title, values=overview_values(view, lang, linked=token is None, now=now))


async def council_page(ctx: AppContext, key: str, lang: str, access: Access) -> Found | None:
    year = ctx.today().year
    today = ctx.today()
    async with ctx.db.session() as session:
        council = (
            await session.exec(select(Council).where(Council.key == key.strip().lower()))
        ).first()
        if council is None or not council.active:
            return None
        if not access.may_see_council(council):
            return Found(refused=True)
        events = await year_events(session, council, year)
        hearings = list(
            (
                await session.exec(
                    select(Hearing)
                    .where(Hearing.council_id == council.id, Hearing.state == "open")
                    .order_by(col(Hearing.deadline), col(Hearing.id))
                    .limit(20)
                )
            ).all()
        )
        people = await _heard(session, [h.id for h in hearings if h.id is not None], council)
    title = t(lang, "overview.council_title", council=council.name, year=year)
    return Found(
        title,
        values={
            "caption": title,
            "wheel_url": f"/council/{council.key}/wheel.png?lang={lang}",
            "wheel_alt": t(lang, "web.wheel_alt", council=council.name, year=year),
            "events": [
                {
                    "date": _day(e.date, lang),
                    "title": e.title_en if lang == "en" else e.title_da,
                    "type": t(lang, f"event_type.{e.type}"),
                    "status": t(lang, f"status.{e.status}")
                    if e.date >= today or e.status != "planned"
                    else t(lang, "status.passed"),
                    "state": "done" if e.date < today else "coming",
                }
                for e in events
            ],
            "hearings": [
                {
                    "id": h.id,
                    "title": h.title,
                    "deadline": t(lang, "web.deadline", date=_day(h.deadline, lang)),
                    "share": t(
                        lang,
                        "overview.answered",
                        answered=sum(1 for p in people.get(h.id, []) if p["answered"]),
                        invited=len(people.get(h.id, [])),
                    ),
                    "people": [_person_row(p, lang) for p in people.get(h.id, [])],
                }
                for h in hearings
            ],
        },
    )


def _person_row(p: dict[str, Any], lang: str) -> dict[str, str]:
    """Answered (green), answered late (amber) or missing (red); the word says it too."""
    if not p["answered"]:
        word, state = "web.answered_no", "late"
    elif p["late"]:
        word, state = "web.late_answer", "open"
    else:
        word, state = "web.answered_yes", "done"
    return {
        "name": p["name"],
        "organisation": p["organisation"] or "",
        "answer": t(lang, word),
        "state": state,
    }


async def _heard(session: Any, ids: list[int], council: Council) -> dict[int, list[dict[str, Any]]]:
    """Per open hearing: each person heard, their organisation, and whether they answered."""
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(
                HearingInvitee.hearing_id,
                Person.name,
                Membership.organisation,
                HearingAnswer.id,
                HearingAnswer.late,
            )
            .join(Person, col(Person.id) == HearingInvitee.person_id)
            .outerjoin(
                Membership,
                (col(Membership.person_id) == Person.id)
                & (col(Membership.council_id) == council.id),
            )
            .outerjoin(
                HearingAnswer,
                (col(HearingAnswer.hearing_id) == HearingInvitee.hearing_id)
                & (col(HearingAnswer.person_id) == HearingInvitee.person_id),
            )
            .where(col(HearingInvitee.hearing_id).in_(ids))
            .order_by(col(Person.name))
        )
    ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for hearing_id, name, organisation, answer_id, late in rows:
        out.setdefault(hearing_id, []).append(
            {
                "name": name,
                "organisation": organisation,
                "answered": answer_id is not None,
                "late": bool(late),
            }
        )
    return out
