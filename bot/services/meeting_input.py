"""What a secretary types for a meeting, checked before anything is stored.

Times are local wall-clock times (``YYYY-MM-DD HH:MM`` in the configured zone): a
time the clocks skip in spring, or one they pass twice in autumn, is refused, since
the bot and the calendar clients would otherwise read it as different instants. A
meeting on a closed day is not refused (a Saturday conference happens) but warned
about, as a hearing's deadline is.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from bot.i18n import closed_day_text, format_date, t, user_error, weekday_name
from bot.services.app import AppContext
from bot.text import clean_long, refuse_forbidden
from scheduler.errors import InputError
from storage.models import Meeting

MAX_TITLE, MAX_LOCATION, MAX_AGENDA = 200, 500, 5000
_TIME = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})\s*$")


def parse_local(text: str, ctx: AppContext, option: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` in the configured zone, as an aware UTC instant.

    Raises:
        InputError: not that form; a time the clocks skip (spring); or a time the
            clocks pass twice (autumn), naming both instants it could be.
    """
    match = _TIME.match(text or "")
    if not match:
        raise user_error(InputError, "meeting.error.bad_time", option=option, value=text[:40])
    day, hour, minute = match.groups()
    try:
        local = datetime.fromisoformat(f"{day}T{int(hour):02d}:{minute}").replace(tzinfo=ctx.tz)
    except ValueError:
        raise user_error(
            InputError, "meeting.error.bad_time", option=option, value=text[:40]
        ) from None
    # A wall time that does not exist (the hour skipped in March) is refused.
    if local.astimezone(UTC).astimezone(ctx.tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise user_error(InputError, "meeting.error.no_such_time", option=option, value=text)
    # A wall time that exists twice (the hour repeated in October) is refused too: the
    # bot would store the first, calendar clients read the second.
    first, second = local.replace(fold=0), local.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        raise user_error(
            InputError,
            "meeting.error.ambiguous_time",
            option=option,
            value=text,
            first=f"{first:%H:%M} {first.isoformat()[-6:]}",
            second=f"{second:%H:%M} {second.isoformat()[-6:]}",
            first_utc=f"{first.astimezone(UTC):%H:%M}",
            second_utc=f"{second.astimezone(UTC):%H:%M}",
        )
    return local.astimezone(UTC)


def clean_field(value: str | None, name: str, limit: int, *, multiline: bool = False) -> str:
    """A meeting's text as stored (see :mod:`bot.text`): a one-line field refuses control,
    bidi and zero-width characters naming the position; the agenda has them stripped.
    ``name`` is the field (title, location, agenda): the error carries it so a form can
    show the error under that field."""
    if multiline:
        value = clean_long(value or "")
    else:
        value = unicodedata.normalize("NFC", value or "").strip()
        refuse_forbidden(value, name)
    if len(value) > limit:
        raise user_error(InputError, "meeting.error.too_long", field=name, limit=limit)
    return value


def check_times(ctx: AppContext, start: datetime, end: datetime) -> None:
    """A meeting ends after it starts, starts in the future and lasts at most a week."""
    if end <= start:
        raise user_error(InputError, "meeting.error.end_before_start")
    if start <= ctx.clock.now():
        raise user_error(InputError, "meeting.error.past")
    if end - start > timedelta(days=7):
        raise user_error(InputError, "meeting.error.too_long_meeting")


def new_times(
    meeting: Meeting, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """A meeting's start and end after an update: a new start alone keeps the length."""
    new_start = start or meeting.start_at
    if end is not None:
        return new_start, end
    return new_start, meeting.end_at + (new_start - meeting.start_at)


def meeting_warnings(ctx: AppContext, start: datetime, end: datetime, language: str) -> list[str]:
    """Why a secretary may want to think again: the meeting falls on a closed day
    (a public holiday such as Maundy Thursday, a configured closed day, a weekend)."""
    first = start.astimezone(ctx.tz).date()
    last = max(first, end.astimezone(ctx.tz).date())
    found = []
    day = first
    while day <= last:
        if not ctx.calendar.is_working_day(day):
            why = closed_day_text(ctx.calendar, day, language) or weekday_name(day, language)
            found.append(
                t(
                    language,
                    "meeting.warn.closed_day",
                    date=format_date(day, language, long=True),
                    why=why,
                )
            )
        day += timedelta(days=1)
    return found
