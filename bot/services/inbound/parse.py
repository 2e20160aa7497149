"""One RFC 5322 message, raw bytes in, :class:`ParsedMail` out, within safety limits.

The stdlib ``email`` package does the MIME work with the lenient ``compat32`` policy
(it never raises on a broken header; it records a defect). On top of it this module
refuses what it must not read (too big, nested too deep, a NUL or another control
character in a header, something that is not a message at all) with a
:class:`MalformedMail` that names the reason from the catalogue, and exposes the parts
the handlers look at: calendars (``text/calendar``, and ``.ics`` files sent as
``application/ics`` or ``application/octet-stream``), attachments, and the pieces of a
``multipart/report`` (``message/delivery-status``, ``text/rfc822-headers``,
``message/rfc822``).

Nothing is rendered or fetched: HTML is reduced to its text by a tag stripper, and
attachments are kept as bytes, never opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import html.parser
import io
import re
import unicodedata
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from bot.i18n import user_error
from bot.services.inbound.message import MailPart, ParsedMail
from scheduler.errors import InputError

#: The inbound size limit (issue 13, point 5).
MAX_BYTES = 25 * 1024 * 1024
#: How deep multiparts and attached messages may nest; real mail rarely passes 6.
MAX_DEPTH = 32
#: A sanitised filename is at most this many characters (the extension kept).
MAX_FILENAME = 120
#: A header value is decoded from at most this many characters: the stdlib's
#: decode_header is quadratic in the number of encoded words (a 3 MB Subject of them
#: took two minutes); no real header comes near it, and what we keep of one is shorter.
MAX_HEADER_DECODE = 64 * 1024

_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
_REPORT_TYPES = frozenset({"message/delivery-status", "text/rfc822-headers", "message/rfc822"})
#: Header bytes that are never legal (CR, LF and TAB are, for folding).
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_MSGID = re.compile(r"<[^<>\s]+>")
_FILENAME_BAD = re.compile(r'[\\/:*?"<>|]')


class MalformedMail(InputError):
    """A message refused before any handler saw it.

    ``key`` is a catalogue entry under ``inbound.malformed`` and ``params`` fill it in
    (``str(error)`` is the English text for logs); ``reason`` is the short word stored
    with the message: ``too_big``, ``too_deep``, ``header_control``, ``not_a_message``
    (the first line is not a header) or ``no_sender`` (no From, Sender nor Message-ID).
    """

    @property
    def reason(self) -> str:
        return (self.key or "").rsplit(".", 1)[-1]


def refuse(reason: str, /, **params: object) -> MalformedMail:
    """The :class:`MalformedMail` for ``reason`` (a key under ``inbound.malformed``)."""
    error = user_error(MalformedMail, f"inbound.malformed.{reason}", **params)
    assert isinstance(error, MalformedMail)
    return error


def parse_message(
    raw: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> ParsedMail:
    """Parse one message, or raise :class:`MalformedMail` saying why it is refused.

    Args:
        raw: the message as received (CRLF or LF line ends).
        max_bytes: larger messages are refused unread (``too_big``).
        max_depth: multiparts and attached messages nested deeper are refused (``too_deep``).
    """
    if len(raw) > max_bytes:
        raise refuse("too_big", size=_megabytes(len(raw)), limit=_megabytes(max_bytes))
    _check_header_block(raw)
    try:
        root = BytesParser(policy=policy.compat32).parsebytes(raw)
    except RecursionError:
        raise refuse("too_deep", limit=max_depth) from None
    depth = _depth(root)
    if depth > max_depth:
        raise refuse("too_deep", limit=max_depth)
    if not any(root.get(name) for name in ("from", "sender", "message-id")):
        raise refuse("no_sender")

    sha256 = hashlib.sha256(raw).hexdigest()
    headers = tuple((name.lower(), _decode(value)) for name, value in root.items())
    _check_nested_headers(root)
    from_name, from_address = parseaddr(_decode(root.get("from", "")))
    if "@" not in from_address:
        from_address = ""
    message_id = _decode(root.get("message-id", "")).strip()[:998]
    collector = _Collector()
    collector.walk(root)
    return ParsedMail(
        message_id=message_id or f"<{sha256}@aarshjul.invalid>",
        sha256=sha256,
        from_address=from_address.strip().lower(),
        from_name=_clean(from_name).strip(),
        to_addresses=_addresses(root, ("to", "cc", "delivered-to", "x-original-to")),
        subject=_decode(root.get("subject", "")).strip(),
        date=_date(root.get("date")),
        in_reply_to=tuple(_MSGID.findall(_decode(root.get("in-reply-to", "")))),
        references=tuple(_MSGID.findall(_decode(root.get("references", "")))),
        headers=headers,
        text=collector.text(),
        parts=tuple(collector.parts),
        report_type=_report_type(root),
        raw=raw,
    )


def sanitise_filename(name: str | None) -> str | None:
    """A filename safe to show and to store under: no folders, no control or bidi
    characters, no leading dots, at most :data:`MAX_FILENAME` characters; None if empty."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", _decode(name))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = _FILENAME_BAD.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name or None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _check_header_block(raw: bytes) -> None:
    """Refuse a NUL or another control character in the top-level header block, and
    input whose first line is not a header at all (a PDF, a text file)."""
    head = raw.lstrip(b"\r\n")[:1000]
    if raw.startswith(b"From ") and b"\n" in head:  # an mbox "From " line before the headers
        head = head.split(b"\n", 1)[1]
    if not _HEADER_LINE.match(head):
        raise refuse("not_a_message", detail=_first_line(head))
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = raw.find(separator)
        if found != -1:
            end = min(end, found)
    block = raw[:end]
    bad = _HEADER_CONTROL.search(block)
    if bad:
        line_start = block.rfind(b"\n", 0, bad.start()) + 1
        while line_start > 0 and block[line_start : line_start + 1] in (b" ", b"\t"):
            line_start = block.rfind(b"\n", 0, line_start - 1) + 1  # a folded line's header
        name = block[line_start : bad.start()].split(b":", 1)[0]
        raise refuse(
            "header_control",
            header=_clean(name.decode("ascii", "replace"))[:60] or "?",
            char=f"0x{block[bad.start()]:02X}",
        )


def _first_line(head: bytes) -> str:
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    return _clean(line).strip()[:40] or "-"


def _check_nested_headers(root: Message) -> None:
    for part in _iter_parts(root):
        if part is root:
            continue
        for name, value in part.items():
            if isinstance(value, str) and _HEADER_CONTROL.search(value.encode("utf-8", "replace")):
                raise refuse("header_control", header=_clean(name)[:60], char="0x00")


def _iter_parts(root: Message) -> list[Message]:
    """Every part of the tree, iteratively (a deep tree must not recurse)."""
    out: list[Message] = []
    stack = [root]
    while stack:
        part = stack.pop()
        out.append(part)
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return out


def _depth(root: Message) -> int:
    deepest = 0
    stack: list[tuple[Message, int]] = [(root, 0)]
    while stack:
        part, level = stack.pop()
        deepest = max(deepest, level)
        payload = part.get_payload()
        if isinstance(payload, list) and part.get_content_type() != "message/delivery-status":
            stack.extend((p, level + 1) for p in payload if isinstance(p, Message))
    return deepest


def _clean(text: str) -> str:
    """Control characters removed; tabs and line breaks (folding) become spaces."""
    text = re.sub(r"\r?\n[ \t]*|\t", " ", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def _raw_text(data: bytes) -> str:
    """Header bytes sent unencoded (RFC 6532 UTF-8, or an old client's Windows-1252)."""
    for charset in ("utf-8", "cp1252"):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(charset)
    return data.decode("latin-1")


def _decode(value: object) -> str:
    """A header value with its encoded words decoded, never raising.

    compat32 hands a header with raw 8-bit bytes over as a ``Header`` of charset
    ``unknown-8bit``; those bytes are read as UTF-8 (RFC 6532), else Windows-1252,
    instead of showing as replacement characters.
    """
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > MAX_HEADER_DECODE:
        value = value[:MAX_HEADER_DECODE]
    if isinstance(value, Header):
        with contextlib.suppress(ValueError, LookupError, UnicodeError, TypeError):
            parts = []
            for chunk, charset in decode_header(value):
                if isinstance(chunk, str):
                    parts.append(chunk)
                elif charset in (None, "unknown-8bit"):
                    parts.append(_raw_text(chunk))
                else:
                    parts.append(chunk.decode(charset, "replace"))
            return _clean("".join(parts))
    text = str(value)
    with contextlib.suppress(ValueError, LookupError, UnicodeError, TypeError):
        text = str(make_header(decode_header(text)))
    return _clean(text)


def _addresses(root: Message, names: tuple[str, ...]) -> tuple[str, ...]:
    values = [_decode(v) for name in names for v in root.get_all(name, [])]
    seen: dict[str, None] = {}
    try:
        pairs = getaddresses(values)
    except (ValueError, TypeError, IndexError):
        pairs = []
    for _, address in pairs:
        address = address.strip().lower()
        if "@" in address:
            seen.setdefault(address, None)
    return tuple(seen)


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_decode(value))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _report_type(root: Message) -> str | None:
    if root.get_content_type() != "multipart/report":
        return None
    report = root.get_param("report-type")
    return str(report).strip().lower() if isinstance(report, str) and report.strip() else None


def _serialise(part: Message) -> bytes:
    """The bytes of a part the parser split into sub-messages (a delivery-status's header
    blocks, an attached message), written back as they would be sent."""
    payload = part.get_payload()
    chunks: list[bytes] = []
    for block in payload if isinstance(payload, list) else []:
        buffer = io.BytesIO()
        BytesGenerator(buffer, mangle_from_=False, policy=policy.compat32).flatten(block)
        chunks.append(buffer.getvalue())
    return b"".join(chunks)


def _calendar_method(part: Message, content: bytes) -> str | None:
    method = part.get_param("method")
    if isinstance(method, str) and method.strip():
        return method.strip().upper()
    found = re.search(rb"^METHOD:([A-Za-z-]+)\s*$", content, re.MULTILINE)
    return found.group(1).decode("ascii").upper() if found else None


class _Collector:
    """Walks the tree once: the message's text and every part a handler may want."""

    def __init__(self) -> None:
        self.parts: list[MailPart] = []
        self._plain: str | None = None
        self._html: str | None = None

    def text(self) -> str:
        if self._plain is not None:
            return self._plain
        return _html_to_text(self._html) if self._html is not None else ""

    def walk(self, root: Message) -> None:
        stack = [root]
        while stack:
            part = stack.pop()
            ctype = part.get_content_type()
            payload = part.get_payload()
            if ctype in _REPORT_TYPES:
                self._report_part(part, ctype)
            elif isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            else:
                self._leaf(part, ctype)

    def _report_part(self, part: Message, ctype: str) -> None:
        nested = isinstance(part.get_payload(), list)
        content = _serialise(part) if nested else _payload_bytes(part)
        self.parts.append(
            MailPart(
                content_type=ctype,
                filename=_filename(part),
                content=content,
                attached=_disposition(part) == "attachment",
            )
        )

    def _leaf(self, part: Message, ctype: str) -> None:
        disposition = _disposition(part)
        filename = _filename(part)
        content = _payload_bytes(part)
        is_ics_file = bool(filename and filename.lower().endswith((".ics", ".ifb", ".vcs")))
        if ctype in _CALENDAR_TYPES or (is_ics_file and ctype == "application/octet-stream"):
            self.parts.append(
                MailPart(
                    content_type="text/calendar",
                    filename=filename,
                    content=content,
                    attached=disposition == "attachment",
                    method=_calendar_method(part, content),
                )
            )
            return
        if disposition != "attachment" and filename is None and ctype.startswith("text/"):
            text = _payload_text(part, content)
            if ctype == "text/plain" and self._plain is None:
                self._plain = text
                return
            if ctype == "text/html" and self._html is None:
                self._html = text
                return
            if ctype in ("text/plain", "text/html"):
                return  # a second body (another alternative) is not an attachment
        self.parts.append(
            MailPart(
                content_type=ctype,
                filename=filename,
                content=content,
                attached=disposition == "attachment",
            )
        )


def _disposition(part: Message) -> str | None:
    value = part.get("content-disposition")
    if not value:
        return None
    return str(value).split(";", 1)[0].strip().lower() or None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, LookupError, UnicodeError, TypeError):
        name = None
    if not name:
        try:
            name = part.get_param("name")
        except (ValueError, LookupError, UnicodeError, TypeError):
            name = None
        if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
            name = name[2]
    return sanitise_filename(name if isinstance(name, str) else None)


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, LookupError, UnicodeError, TypeError):
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _payload_text(part: Message, content: bytes) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        text = content.decode(charset, "replace")
    except LookupError:
        text = content.decode("utf-8", "replace")
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


class _TextOnly(html.parser.HTMLParser):
    """The visible text of an HTML body; nothing is loaded, scripts and styles dropped."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(self._skip - 1, 0)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _html_to_text(markup: str) -> str:
    parser = _TextOnly()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # html.parser's rare refusals of broken markup
        pass
    text = "".join(parser.chunks)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
