"""The annual cycle as an RFC 5545 calendar to import or subscribe to.

Deadlines are all-day events. UIDs are derived from council, year and template
key, so importing the file again updates the events instead of duplicating them;
SEQUENCE follows the stored event's change counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event

from bot.i18n import format_date, t

PRODID = "-//aarshjul//årshjul//DA"
UID_DOMAIN = "aarshjul"


@dataclass(frozen=True)
class CalendarEntry:
    """What the calendar needs of one dated event (stored or previewed)."""

    key: str
    title: str
    description: str
    owner: str
    type: str
    date: date
    sequence: int
    #: Reminder dates (local), most distant first.
    reminders: Sequence[date]


def event_uid(council_key: str, year: int, template_key: str) -> str:
    return f"{council_key}-{year}-{template_key}@{UID_DOMAIN}"


def cycle_calendar(
    *,
    council_key: str,
    council_name: str,
    year: int,
    entries: Sequence[CalendarEntry],
    now: datetime,
    language: str,
    timezone: str,
    send_at: time,
) -> bytes:
    """Serialise one council-year as a VCALENDAR (METHOD:PUBLISH).

    Args:
        now: the DTSTAMP (UTC-aware), from the injected clock.
        send_at: local time of day at which reminders fire; alarms are set to it.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = t(language, "ics.calendar_name", council=council_name, year=year)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    for entry in entries:
        ev = Event()
        ev.add("uid", event_uid(council_key, year, entry.key))
        ev.add("dtstamp", now)
        ev.add("dtstart", entry.date)
        ev.add("dtend", entry.date + timedelta(days=1))
        ev.add("summary", entry.title)
        description = t(
            language,
            "ics.description",
            kind=t(language, f"event_type.{entry.type}"),
            owner=t(language, f"owner.{entry.owner}"),
            date=format_date(entry.date, language, long=True),
        )
        if entry.description:
            description = f"{entry.description}\n\n{description}"
        ev.add("description", description)
        ev.add("categories", [t(language, f"event_type.{entry.type}")])
        ev.add("sequence", entry.sequence)
        ev.add("transp", "TRANSPARENT")
        ev.add("status", "CONFIRMED")
        start = datetime.combine(entry.date, time())
        for remind_on in entry.reminders:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            # Relative to the all-day start (local midnight): fires at send_at on that day.
            alarm.add("trigger", datetime.combine(remind_on, send_at) - start)
            days = (entry.date - remind_on).days
            key = {0: "ics.alarm_today", 1: "ics.alarm_one"}.get(days, "ics.alarm")
            alarm.add("description", t(language, key, title=entry.title, days=days))
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()
