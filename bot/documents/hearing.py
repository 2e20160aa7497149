"""The council's compiled hearing answer as a Word document, the form a secretariat
sends to the municipal council and files: council, title, the document heard, the
deadline, the answers grouped by position (each member's organisation and text, late
answers and substitutes marked) and who did not answer."""

from __future__ import annotations

from datetime import date, tzinfo

from bot.documents.style import Letterhead, facts, heading, new_document, note, text_block, to_bytes
from bot.i18n import format_date, t
from bot.services.hearings import POSITIONS, HearingStatus
from storage.models import Person


def hearing_docx(
    status: HearingStatus,
    people: dict[int, Person],
    language: str,
    tz: tzinfo,
    today: date,
) -> bytes:
    """The .docx of a hearing's answers.

    Args:
        status: the hearing, its council and every seat with its answer.
        people: who typed the answers (``answered_by_id``), to name a substitute.
        language: ``da`` or ``en``.
        tz: the zone the answers' times are shown in.
        today: the document's date line.
    """
    h, lang = status.hearing, language
    doc = new_document(
        Letterhead(
            council=status.council.name,
            title=t(lang, "hearing.export.title", title=h.title),
            day=today,
            language=lang,
            subtitle=t(lang, f"hearing.subject.{h.subject}"),
        )
    )
    late = sum(1 for s in status.answered if s.answer and s.answer.late)
    rows = [
        (t(lang, "documents.hearing.council"), status.council.name),
        (t(lang, "documents.hearing.title"), h.title),
        (t(lang, "documents.hearing.subject"), t(lang, f"hearing.subject.{h.subject}")),
    ]
    if h.document_url:
        rows.append((t(lang, "documents.hearing.document"), h.document_url))
    rows += [
        (t(lang, "documents.hearing.deadline"), format_date(h.deadline, lang, long=True)),
        (
            t(lang, "documents.hearing.answers"),
            t(
                lang,
                "documents.hearing.count",
                answered=len(status.answered),
                invited=len(status.seats),
                late=late,
            ),
        ),
    ]
    facts(doc, rows)
    for position in POSITIONS:
        group = [s for s in status.answered if s.answer and s.answer.position == position]
        if not group:
            continue
        heading(doc, f"{t(lang, f'hearing.position.{position}')} ({len(group)})", 1)
        for s in group:
            a = s.answer
            assert a is not None
            who = s.person.name + (f" ({s.organisation})" if s.organisation else "")
            heading(doc, who, 2)
            marks = [a.answered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")]
            if a.behalf == "organisation":
                marks.append(t(lang, "hearing.export.on_behalf"))
            if a.late:
                marks.append(t(lang, "hearing.export.late"))
            if a.answered_by_id != s.person.id:
                by = people.get(a.answered_by_id)
                marks.append(
                    t(lang, "documents.hearing.substitute", name=by.name)
                    if by is not None
                    else t(lang, "hearing.export.by_substitute")
                )
            note(doc, " · ".join(marks))
            if a.remarks:
                text_block(doc, a.remarks)
            if a.link:
                note(doc, t(lang, "hearing.export.link", url=a.link))
            # Files kept with an answer given by e-mail: named, never opened.
            if status.files.get(s.person.id or 0):
                names = ", ".join(status.files[s.person.id or 0])
                note(doc, t(lang, "inbound_hearing.export.files", names=names))
    heading(doc, f"{t(lang, 'hearing.export.missing')} ({len(status.missing)})", 1)
    if not status.missing:
        text_block(doc, t(lang, "hearing.export.none_missing"))
    for s in status.missing:
        org = f" ({s.organisation})" if s.organisation else ""
        doc.add_paragraph(f"{s.person.name}{org}", style="List Bullet")
    return to_bytes(doc)
