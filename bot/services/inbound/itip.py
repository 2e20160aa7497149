"""Reading an iTIP (RFC 5546) REPLY or COUNTER out of a message's calendar parts.

Pure: bytes in, :class:`ItipMessage` out, no database. Clients send the same
calendar more than once in one message (Gmail: a ``text/calendar`` alternative and
an ``invite.ics`` attachment); the first readable REPLY or COUNTER wins. A calendar
that does not parse is passed over, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from icalendar import Calendar

from bot.services.inbound.message import MailPart

REPLY, COUNTER = "REPLY", "COUNTER"
METHODS = (REPLY, COUNTER)
#: PARTSTAT ⟶ the answer the Slack buttons give (Deltager / Deltager ikke / Måske).
PARTSTAT_ANSWER = {"ACCEPTED": "yes", "DECLINED": "no", "TENTATIVE": "maybe"}
#: A calendar this large is not an answer to an invitation (ours are a few kB).
MAX_CALENDAR = 256 * 1024
#: How many characters of a COMMENT we keep (a COUNTER's reason).
MAX_COMMENT = 500
#: How many calendar parts of one message are read: clients send one or two (Gmail's
#: text/calendar and invite.ics); 90 parts of 256 kB each took icalendar 33 s.
MAX_CALENDARS = 4


@dataclass(frozen=True)
class ItipAttendee:
    #: The bare address, lower case (``mailto:`` removed).
    email: str
    name: str
    #: Upper case, "" when missing.
    partstat: str


@dataclass(frozen=True)
class ItipMessage:
    """The one VEVENT of a REPLY or COUNTER that matters to us."""

    method: str
    uid: str
    sequence: int
    attendees: tuple[ItipAttendee, ...]
    #: A COUNTER's proposed times (aware when the calendar gave a zone); None otherwise.
    start: datetime | date | None = None
    end: datetime | date | None = None
    comment: str = ""
    #: When the client wrote the answer (DTSTAMP), if it says so in UTC or with a zone.
    stamp: datetime | None = None


def calendar_parts(parts: Iterable[MailPart]) -> list[MailPart]:
    """The parts that may be a calendar: text/calendar (parse.py maps application/ics
    and ``.ics`` files to it), or any part whose file name ends in ``.ics``."""
    found = []
    for part in parts:
        name = (part.filename or "").lower()
        if part.content_type in ("text/calendar", "application/ics") or name.endswith(".ics"):
            found.append(part)
    return found


def is_itip_answer(parts: Iterable[MailPart]) -> bool:
    """Whether a calendar part announces itself as a REPLY or COUNTER (the MIME
    ``method`` parameter or the METHOD line), without parsing it fully."""
    for part in calendar_parts(parts):
        method = (part.method or "").upper()
        if method in METHODS:
            return True
        head = part.content[:MAX_CALENDAR].upper()
        if b"METHOD:REPLY" in head or b"METHOD:COUNTER" in head:
            return True
    return False


def read_itip(parts: Iterable[MailPart]) -> ItipMessage | None:
    """The first readable REPLY or COUNTER among the first :data:`MAX_CALENDARS`
    calendar parts, or None."""
    for part in calendar_parts(parts)[:MAX_CALENDARS]:
        found = _read(part.content)
        if found is not None:
            return found
    return None


def _read(content: bytes) -> ItipMessage | None:
    if not content or len(content) > MAX_CALENDAR:
        return None
    try:
        calendar = Calendar.from_ical(content)
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    method = str(calendar.get("method", "")).strip().upper()
    if method not in METHODS:
        return None
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("uid", "")).strip()
        if not uid:
            continue
        return ItipMessage(
            method=method,
            uid=uid[:200],
            sequence=_integer(event.get("sequence")),
            attendees=tuple(_attendees(event.get("attendee"))),
            start=_moment(event, "dtstart"),
            end=_moment(event, "dtend"),
            comment=_text(event.get("comment"))[:MAX_COMMENT],
            stamp=_stamp(event),
        )
    return None


def _integer(value: object) -> int:
    try:
        return int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0


def _attendees(value: object) -> list[ItipAttendee]:
    values = value if isinstance(value, list) else [value] if value is not None else []
    found = []
    for item in values:
        address = str(item).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        address = address.strip().lower()
        if "@" not in address:
            continue
        params = getattr(item, "params", {}) or {}
        found.append(
            ItipAttendee(
                email=address[:254],
                name=str(params.get("CN", "")).strip()[:200],
                partstat=str(params.get("PARTSTAT", "")).strip().upper(),
            )
        )
    return found


def _moment(event: object, name: str) -> datetime | date | None:
    try:
        value = event.decoded(name)  # type: ignore[attr-defined]
    except (KeyError, ValueError, TypeError):
        return None
    return value if isinstance(value, datetime | date) else None


def _stamp(event: object) -> datetime | None:
    value = _moment(event, "dtstamp")
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return "".join(ch for ch in text if ch.isprintable())
