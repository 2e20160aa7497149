"""The one house style of every document: fonts, headings, letterhead, date, page numbers.

Every document starts with :func:`new_document` (the council's name at the top of
each page, the title, the date line in the reader's language) and ends with
:func:`to_bytes`. The texts come from the catalogue; this module only lays them out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.i18n import format_date, t

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.paragraph import Paragraph

#: A font every Word and LibreOffice has, with æøå.
FONT = "Calibri"
BODY_PT = 11
#: The council's blue (the Slack app's colour).
ACCENT = (0x1D, 0x4F, 0x91)
GREY = (0x59, 0x59, 0x59)
LANGUAGE_TAGS = {"da": "da-DK", "en": "en-GB"}


@dataclass(frozen=True)
class Letterhead:
    """What the top of a document says: whose it is, what it is, and when."""

    council: str
    title: str
    day: date
    language: str
    #: A line under the title (a meeting's time and place; a hearing's subject).
    subtitle: str = ""


def _rgb(value: tuple[int, int, int]) -> object:
    from docx.shared import RGBColor

    return RGBColor(*value)


def _set_language(style: object, tag: str) -> None:
    """Mark a style's text with a language, so Word's spelling check is Danish."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), tag)


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that the reader's program fills in."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)


def new_document(head: Letterhead) -> Document:
    """An A4 document in the house style with the letterhead filled in."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = docx.Document()
    lang = head.language
    tag = LANGUAGE_TAGS.get(lang, "da-DK")
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = FONT  # type: ignore[attr-defined]
    normal.font.size = Pt(BODY_PT)  # type: ignore[attr-defined]
    _set_language(normal, tag)
    for level, size in ((1, 18), (2, 14), (3, 12)):
        style = doc.styles[f"Heading {level}"]
        style.font.name = FONT  # type: ignore[attr-defined]
        style.font.size = Pt(size)  # type: ignore[attr-defined]
        style.font.color.rgb = _rgb(ACCENT)  # type: ignore[attr-defined]
        _set_language(style, tag)
    title_style = doc.styles["Title"]
    title_style.font.name = FONT  # type: ignore[attr-defined]
    title_style.font.size = Pt(22)  # type: ignore[attr-defined]
    title_style.font.color.rgb = _rgb(ACCENT)  # type: ignore[attr-defined]
    # The council on every page, the page number at the foot.
    top = section.header.paragraphs[0]
    top.text = head.council
    top.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for run in top.runs:
        run.font.color.rgb = _rgb(GREY)  # type: ignore[assignment]
        run.font.size = Pt(9)
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run(t(lang, "documents.page") + " ")
    _field(foot, "PAGE")
    foot.add_run(" " + t(lang, "documents.page_of") + " ")
    _field(foot, "NUMPAGES")
    props = doc.core_properties
    props.title = head.title
    props.author = t(lang, "documents.author", council=head.council)
    props.language = tag
    council_line = doc.add_paragraph()
    run = council_line.add_run(head.council)
    run.bold = True
    run.font.color.rgb = _rgb(ACCENT)  # type: ignore[assignment]
    doc.add_paragraph(head.title, style="Title")
    if head.subtitle:
        sub = doc.add_paragraph()
        sub_run = sub.add_run(head.subtitle)
        sub_run.italic = True
    date_line = doc.add_paragraph(
        t(lang, "documents.date_line", date=format_date(head.day, lang, long=True))
    )
    for r in date_line.runs:
        r.font.color.rgb = _rgb(GREY)  # type: ignore[assignment]
    return doc


def heading(doc: Document, text: str, level: int = 1) -> Paragraph:
    return doc.add_heading(text, level=level)


def facts(doc: Document, rows: list[tuple[str, str]]) -> None:
    """Label–value lines (council, deadline, …) as a borderless two-column table."""
    from docx.shared import Cm

    if not rows:
        return
    table = doc.add_table(rows=0, cols=2)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Cm(4.5), Cm(11.5)
        label_run = cells[0].paragraphs[0].add_run(label)
        label_run.bold = True
        cells[1].paragraphs[0].add_run(value)
    doc.add_paragraph()


def text_block(doc: Document, text: str, *, italic: bool = False) -> Paragraph:
    """Typed text as one paragraph, its line breaks kept (a reader gets it back
    exactly with ``paragraph.text``)."""
    paragraph = doc.add_paragraph()
    run = paragraph.add_run(text)
    run.italic = italic
    return paragraph


def note(doc: Document, text: str) -> Paragraph:
    """A small grey line (when, on whose behalf, late)."""
    from docx.shared import Pt

    paragraph = doc.add_paragraph()
    run = paragraph.add_run(text)
    run.font.size = Pt(9)
    run.font.color.rgb = _rgb(GREY)  # type: ignore[assignment]
    return paragraph


def to_bytes(doc: Document) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
