"""A meeting's agenda as a Word document: the council's letterhead, the meeting's time,
place and link, then the items in their order, numbered, each with its text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.documents.style import Letterhead, facts, heading, new_document, note, text_block, to_bytes
from bot.i18n import t


@dataclass(frozen=True)
class SheetItem:
    """One item as the document prints it."""

    number: int
    title: str
    text: str = ""
    #: What the item is and where it came from ("Regionens bemærkning (RBR …)").
    label: str = ""
    #: "Overført fra mødet 3. marts" and the like.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgendaSheet:
    council: str
    title: str
    day: date
    language: str
    #: Label–value lines: when, where, link.
    facts: list[tuple[str, str]] = field(default_factory=list)
    items: list[SheetItem] = field(default_factory=list)


def agenda_docx(sheet: AgendaSheet) -> bytes:
    """The .docx of an agenda; the items in exactly the order given."""
    lang = sheet.language
    doc = new_document(
        Letterhead(
            council=sheet.council,
            title=t(lang, "documents.agenda.title", title=sheet.title),
            day=sheet.day,
            language=lang,
        )
    )
    facts(doc, sheet.facts)
    if not sheet.items:
        text_block(doc, t(lang, "documents.agenda.empty"), italic=True)
    for item in sheet.items:
        heading(doc, f"{item.number}. {item.title}", 1)
        if item.label:
            note(doc, item.label)
        for line in item.notes:
            note(doc, line)
        if item.text:
            text_block(doc, item.text)
    return to_bytes(doc)
