"""The parsed inbound message and what handling it came to: the contract between the
reader (``reader``/``pipeline``) and the handlers (calendar answers, hearing replies,
bounces and auto-replies).

A handler is ``async def handle(ctx, session, mail) -> Outcome | None``: ``None`` means
"not mine, ask the next one"; an :class:`Outcome` ends the search. Handlers never send
anything themselves: whatever goes out (a receipt, a note to the secretariat) is an
outbox row queued in ``session``, committed together with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class MailPart:
    """A leaf of the MIME tree that is not the message's text: a calendar or a file.

    ``filename`` is sanitised already (no path, no control characters, bounded length);
    ``content`` is the decoded bytes, never opened or executed.
    """

    content_type: str
    filename: str | None
    content: bytes
    #: ``Content-Disposition: attachment`` (as opposed to inline).
    attached: bool = False
    #: For text/calendar: the METHOD parameter of the Content-Type, upper case, if any.
    method: str | None = None


@dataclass(frozen=True)
class ParsedMail:
    """One RFC 5322 message, parsed within the safety limits (size, MIME depth, headers)."""

    #: The Message-ID header without angle brackets' surroundings trimmed (``<…>`` kept
    #: as sent), or a synthetic ``<sha256…@aarshjul.invalid>`` when the message has none.
    message_id: str
    #: SHA-256 of the raw bytes, hex.
    sha256: str
    #: The bare ``From`` address, lower case ("" when missing or unparseable).
    from_address: str
    from_name: str
    #: Bare, lower-case addresses of To and Cc, and of Delivered-To / X-Original-To.
    to_addresses: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    #: Every header, name lower case, in order (values decoded, control characters removed).
    headers: tuple[tuple[str, str], ...]
    #: The first text/plain part (or text/html reduced to text, never rendered or fetched).
    text: str
    #: Calendar parts, attachments, delivery-status reports, in tree order.
    parts: tuple[MailPart, ...] = field(default_factory=tuple)
    #: ``multipart/report`` with this report-type (e.g. ``delivery-status``), else None.
    report_type: str | None = None
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


class Disposition(StrEnum):
    """What happened to a message; the reader moves it by this."""

    #: Something was recorded (an answer, a bounce, a note to the secretariat).
    HANDLED = "handled"
    #: Deliberately ignored (an auto-reply, an unknown UID, a duplicate): moved to done.
    IGNORED = "ignored"
    #: Not a message we can read (too big, too deep, NUL in a header): moved to failed.
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What handling a message came to, in one line a person can read.

    ``summary_key`` and ``params`` name a catalogue entry (the line ``mail ingest``
    prints and the log records); ``kind`` is a short machine word for tests and
    metrics ("calendar_reply", "hearing_reply", "bounce", "auto_reply", ...).
    """

    disposition: Disposition
    kind: str
    summary_key: str
    params: dict[str, object] = field(default_factory=dict)
