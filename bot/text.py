"""Text hygiene at the edges: what people type comes in clean, what we write goes out inert.

In: user text is NFC-normalised. Names and titles (one line) refuse control characters
(C0, C1, DEL), Unicode line separators, bidi embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069) and zero-width characters, naming the first one's
position, so a title cannot be made to read backwards or hide a word. Long text (an
answer's remarks, an agenda) keeps newline and tab and has the rest stripped: a member
pasting from Word often carries zero-width characters they cannot see, and refusing
their answer for it would only frustrate them.

Out: every spreadsheet cell we write (CSV now, XLSX later) that begins with ``=``,
``+``, ``-``, ``@``, tab or carriage return is prefixed with ``'`` (OWASP's CSV-injection
guidance), in every column.

Bounded reads: a file, standard input or a device is read through one bound, so
``/dev/zero`` or a 180 MB upload is refused after at most the limit plus one byte.
"""

from __future__ import annotations

import re
import unicodedata
from typing import BinaryIO

from bot.i18n import user_error
from scheduler.errors import InputError

#: Bidi embeddings, overrides and isolates; marks; zero-width and invisible formatting.
_INVISIBLE = (
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; LRM, RLM
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # LRI, RLI, FSI, PDI
    "\ufeff"  # zero-width no-break space (BOM)
)
#: Refused in one-line text: C0 and C1 controls, DEL, and the invisible ones.
_FORBIDDEN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
#: Stripped from long text: the same, but newline and tab are kept.
_FORBIDDEN_LONG = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
#: A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def forbidden_at(value: str) -> tuple[int, str] | None:
    """The 1-based position and ``U+XXXX`` name of the first character a one-line
    text may not hold, or None when it is clean."""
    match = _FORBIDDEN_LINE.search(value)
    if match is None:
        return None
    return match.start() + 1, f"U+{ord(match.group()):04X}"


def refuse_forbidden(text: str, field: str) -> None:
    """Refuse a one-line text holding a control, bidi or zero-width character.

    Raises:
        InputError: ``text.bad_char`` naming the field, the position and the code point
            (the field lets a form show the error under it).
    """
    found = forbidden_at(text)
    if found is not None:
        position, code = found
        raise user_error(InputError, "text.bad_char", field=field, position=position, code=code)


def clean_long(value: str) -> str:
    """Long text as stored: NFC, line breaks as ``\\n``, invisible and control characters
    other than newline and tab stripped, trailing white space trimmed."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return _FORBIDDEN_LONG.sub("", text).strip()


def header_safe(value: str) -> str:
    """Text for an e-mail header: one line, nothing invisible (a subject from a title)."""
    text = unicodedata.normalize("NFC", value)
    return " ".join(_FORBIDDEN_LINE.sub(" ", text).split())


def formula_like(value: str) -> bool:
    """Whether a spreadsheet would evaluate a cell holding ``value``."""
    return value.startswith(FORMULA_START)


def inert_cell(value: object) -> str:
    """A spreadsheet cell that is never a formula: ``'`` before a formula-like start."""
    text = "" if value is None else str(value)
    return "'" + text if formula_like(text) else text


def read_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """At most ``limit`` bytes from ``stream``, or None when it holds more.

    Reads in chunks, so a device that never ends (``/dev/zero``) or a huge pipe costs
    at most ``limit`` plus one chunk of memory.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
