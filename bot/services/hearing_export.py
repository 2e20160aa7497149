"""A closed hearing's compiled answer: Markdown grouped by position, and CSV.

The same text is posted in the council's channel when the hearing closes and
written by ``aarshjul hearing export``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t, user_error
from bot.services.app import AppContext
from bot.services.hearings import POSITIONS, HearingStatus, hearing_status, seat_files, seats
from bot.text import inert_cell
from scheduler.errors import InputError
from storage.models import Council, Hearing, Person


def compile_markdown(status: HearingStatus, language: str, tz: tzinfo) -> str:
    """The council's compiled answer: grouped by position, with who did not answer."""
    h, lang = status.hearing, language
    lines = [
        f"# {t(lang, 'hearing.export.title', title=h.title)}",
        "",
        t(lang, "hearing.export.meta.council", council=status.council.name),
        t(lang, "hearing.export.meta.subject", subject=t(lang, f"hearing.subject.{h.subject}")),
        t(lang, "hearing.export.meta.deadline", date=format_date(h.deadline, lang, long=True)),
    ]
    if h.document_url:
        lines.append(t(lang, "hearing.export.meta.document", url=h.document_url))
    lines.append(
        t(
            lang,
            "hearing.export.meta.count",
            answered=len(status.answered),
            invited=len(status.seats),
            late=sum(1 for s in status.answered if s.answer and s.answer.late),
        )
    )
    for position in POSITIONS:
        group = [s for s in status.answered if s.answer and s.answer.position == position]
        if not group:
            continue
        lines += ["", f"## {t(lang, f'hearing.position.{position}')} ({len(group)})", ""]
        for s in group:
            a = s.answer
            assert a is not None
            who = s.person.name + (f" ({s.organisation})" if s.organisation else "")
            flags = []
            if a.behalf == "organisation":
                flags.append(t(lang, "hearing.export.on_behalf"))
            if a.late:
                flags.append(t(lang, "hearing.export.late"))
            if a.answered_by_id != s.person.id:
                flags.append(t(lang, "hearing.export.by_substitute"))
            when = a.answered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
            flag = f" — **{', '.join(flags)}**" if flags else ""
            lines.append(f"- **{who}**, {when}{flag}")
            for paragraph in (a.remarks or "").splitlines():
                if paragraph.strip():
                    lines.append(f"  > {paragraph.strip()}")
            if a.link:
                lines.append(f"  {t(lang, 'hearing.export.link', url=a.link)}")
            if status.files.get(s.person.id or 0):
                names = ", ".join(status.files[s.person.id or 0])
                lines.append(f"  {t(lang, 'inbound_hearing.export.files', names=names)}")
    lines += ["", f"## {t(lang, 'hearing.export.missing')} ({len(status.missing)})", ""]
    for s in status.missing:
        org = f" ({s.organisation})" if s.organisation else ""
        lines.append(f"- {s.person.name}{org}")
    if not status.missing:
        lines.append(t(lang, "hearing.export.none_missing"))
    return "\n".join(lines) + "\n"


async def seats_summary(session: AsyncSession, hearing: Hearing) -> tuple[int, int, list[str]]:
    """Answered, invited, and the names of those missing (for the chair's escalation)."""
    found = await seats(session, hearing, date.min)
    missing = [s.person.name for s in found if s.answer is None]
    return len(found) - len(missing), len(found), missing


async def closing_status(session: AsyncSession, hearing: Hearing, today: date) -> HearingStatus:
    """Who answered what and who did not, as the closing message reports it."""
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    found = await seats(session, hearing, today)
    return HearingStatus(hearing, council, found, 0, 0, await seat_files(session, hearing, found))


CSV_COLUMNS = (
    "hearing_id",
    "council",
    "name",
    "email",
    "organisation",
    "answered",
    "position",
    "behalf",
    "answered_at",
    "late",
    "version",
    "answered_by",
    "remarks",
    "link",
    "attachments",
)


def compile_csv(status: HearingStatus, people: dict[int, Person]) -> str:
    """One row per person heard; times in UTC ISO 8601, so a spreadsheet sorts them.

    Every cell is inert (:func:`bot.text.inert_cell`): a name, an e-mail or an
    organisation beginning with ``=`` is text to a spreadsheet, never a formula.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in status.seats:
        a = s.answer
        by = people.get(a.answered_by_id) if a else None
        writer.writerow(
            inert_cell(cell)
            for cell in [
                status.hearing.id,
                status.council.key,
                s.person.name,
                s.person.email,
                s.organisation or "",
                "yes" if a else "no",
                a.position if a else "",
                a.behalf if a else "",
                a.answered_at.astimezone(UTC).isoformat() if a else "",
                ("yes" if a.late else "no") if a else "",
                a.version if a else "",
                by.email if by else "",
                a.remarks if a else "",
                (a.link or "") if a else "",
                "; ".join(status.files.get(s.person.id or 0, [])),
            ]
        )
    return out.getvalue()


#: What ``hearing export --format`` offers.
FORMATS = ("md", "csv", "docx")


async def answer_authors(session: AsyncSession, status: HearingStatus) -> dict[int, Person]:
    """Who typed each answer (the member or their substitute), by person id."""
    ids = {s.answer.answered_by_id for s in status.answered if s.answer}
    return {
        p.id or 0: p
        for p in (await session.execute(select(Person).where(col(Person.id).in_(ids)))).scalars()
    }


async def export_hearing(
    session: AsyncSession, ctx: AppContext, hearing_id: int | str, fmt: str, language: str
) -> str | bytes:
    """The compiled answers as Markdown or CSV text, or a Word document's bytes (docx)."""
    if fmt not in FORMATS:
        raise user_error(InputError, "hearing.error.bad_format", value=fmt)
    status = await hearing_status(session, ctx, hearing_id)
    if fmt == "md":
        return compile_markdown(status, language, ctx.tz)
    people = await answer_authors(session, status)
    if fmt == "docx":
        from bot.documents.hearing import hearing_docx

        return hearing_docx(status, people, language, ctx.tz, ctx.today())
    return compile_csv(status, people)
