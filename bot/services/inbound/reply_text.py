"""What a member wrote in a reply: the new text, the position it starts with, its files.

The quoted history (Outlook's "Fra: … Sendt: …" block, Gmail's "Den tir. 1. dec. 2026
kl. 10.00 skrev …:", "On … wrote:") and the signature are cut with mail-parser-reply
(Danish and English); what it leaves of a Danish or English closing ("Med venlig
hilsen", "Mvh", "Best regards", a "-- " line, "Sendt fra min iPhone") is cut here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

from bot.services.inbound.message import MailPart

#: Each file at most this big (the whole message is bounded by the reader).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: The reply's text is read from its first this many characters: a new answer is at the
#: top and at most 3,000 characters are stored (a longer one is refused all the same),
#: and mail-parser-reply takes ~0.5 s a MB (11 s for a 20 MB body, inside the handler's
#: transaction on the event loop).
MAX_SCAN = 64 * 1024
#: Kept file kinds: extension -> (content types accepted, how the bytes begin).
_KINDS = {
    ".pdf": (("application/pdf", "application/x-pdf"), b"%PDF-"),
    ".docx": (
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
        b"PK\x03\x04",
    ),
}
#: Mail programs that do not know a file's kind say this.
_GENERIC = ("application/octet-stream", "application/binary", "binary/octet-stream")

_CLOSING = re.compile(
    r"^\s*(?:med\s+venlig\s+hilsen|venlig\s+hilsen|venlige\s+hilsner|de\s+bedste\s+hilsner|"
    r"bedste\s+hilsner|mange\s+hilsner|mvh\.?|vh\.?|hilsen|best\s+regards|kind\s+regards|"
    r"regards|best\s+wishes|sincerely|cheers)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_SENT_FROM = re.compile(
    r"^\s*(?:sendt\s+fra\s+min|sendt\s+fra\s+outlook|hent\s+outlook|sent\s+from\s+my|"
    r"get\s+outlook\s+for)\b",
    re.IGNORECASE,
)

_WROTE = re.compile(r"^(?:den|on)\s.{4,300}\s(?:skrev|wrote)\b.{0,300}:$", re.IGNORECASE)

#: First words and the position they give, longest first (checked in this order).
_POSITION_WORDS: tuple[tuple[str, str], ...] = (
    ("ingen bemærkninger", "no_remarks"),
    ("ingen kommentarer", "no_remarks"),
    ("no remarks", "no_remarks"),
    ("no comments", "no_remarks"),
    ("støtter med bemærkninger", "support_with_remarks"),
    ("support with remarks", "support_with_remarks"),
    ("supports with remarks", "support_with_remarks"),
    ("støtter ikke", "object"),
    ("gør indsigelse", "object"),
    ("do not support", "object"),
    ("støtter", "support"),
    ("støtte", "support"),
    ("supports", "support"),
    ("support", "support"),
    ("bemærkninger", "support_with_remarks"),
    ("bemærkning", "support_with_remarks"),
    ("remarks", "support_with_remarks"),
    ("comments", "support_with_remarks"),
    ("imod", "object"),
    ("indsigelse", "object"),
    ("objection", "object"),
    ("object", "object"),
    ("against", "object"),
)
#: A reply that starts with none of them is taken as remarks.
DEFAULT_POSITION = "support_with_remarks"


def new_text(text: str) -> str:
    """The text the member wrote in this reply, without quoted history or signature."""
    text = (text or "")[:MAX_SCAN].replace("\r\n", "\n").replace("\r", "\n")
    try:
        replies = EmailReplyParser(languages=["da", "en"]).read(text=text).replies
        body = replies[0].body if replies else text
    except Exception:  # a parser's bug must not lose the answer: fall back to our own cut
        body = text
    return _cut_closing(_cut_quoted(body)).strip()


def _cut_quoted(text: str) -> str:
    """Lines quoted with ">" at the end are history, whatever the parser thought, and
    so is a "Den … skrev:" / "On … wrote:" header a mail program wrapped over two lines."""
    lines = text.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    for i in range(1, len(lines)):
        joined = " ".join(lines[i : i + 2]).strip()
        if _WROTE.match(joined) or _WROTE.match(lines[i].strip()):
            return "\n".join(lines[:i])
    return "\n".join(lines)


def _cut_closing(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i == 0:
            continue  # the first line is the answer, even "Hilsen" alone
        if line.rstrip() in ("--", "-- ") or _CLOSING.match(line) or _SENT_FROM.match(line):
            return "\n".join(lines[:i])
    return text


def position_of(text: str) -> tuple[str, str]:
    """The position the text starts with (``support``, ``support_with_remarks``,
    ``object``, ``no_remarks``) and the remarks after those words; a text starting with
    none of them is remarks (``support_with_remarks``) in full."""
    stripped = text.lstrip(" \t\n*_-–•>")
    lowered = stripped.lower()
    for words, position in _POSITION_WORDS:
        if not lowered.startswith(words):
            continue
        rest = stripped[len(words) :]
        if rest and (rest[0].isalnum() or rest[0] == "-"):
            continue  # "Støttes", "Imodsat": another word
        return position, rest.lstrip(" \t:;.,!–-").strip()
    return DEFAULT_POSITION, text.strip()


@dataclass(frozen=True)
class KeptFile:
    filename: str
    content_type: str
    content: bytes
    sha256: str


@dataclass(frozen=True)
class RefusedFile:
    filename: str
    #: A catalogue key under ``inbound_hearing.file`` (``kind`` or ``size``).
    why: str


def sort_files(parts: tuple[MailPart, ...]) -> tuple[list[KeptFile], list[RefusedFile]]:
    """The PDF and DOCX files to keep with the answer, and the attached files refused.

    Judged by name, declared type and the first bytes, never opened. Inline parts
    that are no PDF or DOCX (a logo in a signature) are passed over without a note.
    """
    kept: list[KeptFile] = []
    refused: list[RefusedFile] = []
    for part in parts:
        if part.content_type in ("text/calendar", "message/delivery-status"):
            continue
        name = part.filename or ""
        extension = name[name.rfind(".") :].lower() if "." in name else ""
        kind = _KINDS.get(extension)
        ctype = part.content_type.lower()
        if kind is None or (ctype not in kind[0] and ctype not in _GENERIC):
            if part.attached or name:
                refused.append(RefusedFile(name or ctype, "kind"))
            continue
        if not part.content.startswith(kind[1]):
            refused.append(RefusedFile(name, "kind"))
            continue
        if len(part.content) > MAX_FILE_BYTES:
            refused.append(RefusedFile(name, "size"))
            continue
        digest = hashlib.sha256(part.content).hexdigest()
        if any(f.sha256 == digest for f in kept):
            continue
        canonical = kind[0][0]
        kept.append(KeptFile(name, canonical, part.content, digest))
    return kept, refused
