"""Meeting invitations as iTIP (RFC 5546) calendars: REQUEST and CANCEL.

One calendar per invitee, so each sees themselves as the ATTENDEE and answers
with their own Accept/Decline. The UID is stable per meeting; SEQUENCE rises
with every change, so calendar clients update the copy they have. Times are
local (Europe/Copenhagen) with a rule-based VTIMEZONE: the RRULE form Outlook
itself writes (the last Sundays of March and October), because Outlook desktop
misreads the list of RDATEs that ``icalendar`` would generate from zoneinfo.
Pure: no clock reads (DTSTAMP is passed in), no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vCalAddress, vText

PRODID = "-//aarshjul//årshjul//DA"
REQUEST, CANCEL = "REQUEST", "CANCEL"


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str


@dataclass(frozen=True)
class MeetingInvite:
    """What a calendar invitation says about a meeting."""

    uid: str
    sequence: int
    title: str
    #: Aware datetimes in the meeting's zone.
    start: datetime
    end: datetime
    location: str | None
    url: str | None
    description: str
    organiser: Invitee
    #: Alarm texts: the day before, and one hour before.
    alarm_day_before: str
    alarm_hour_before: str


def copenhagen_vtimezone(tzid: str = "Europe/Copenhagen") -> Timezone:
    """CET/CEST as Outlook writes it: two rules, not a list of dates."""
    tz = Timezone()
    tz.add("tzid", tzid)
    tz.add("x-lic-location", tzid)
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    # VTIMEZONE onsets are local wall times by definition (RFC 5545 3.6.5).
    summer.add("dtstart", datetime(1981, 3, 29, 2, 0))  # noqa: DTZ001
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", datetime(1996, 10, 27, 3, 0))  # noqa: DTZ001
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def _address(person: Invitee) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    return address


def _local(moment: datetime) -> datetime:
    """Naive local wall time; serialised with TZID= pointing at our VTIMEZONE."""
    return moment.replace(tzinfo=None)


def invitation(
    meeting: MeetingInvite,
    attendees: Sequence[Invitee],
    *,
    method: str,
    stamp: datetime,
    tzid: str = "Europe/Copenhagen",
) -> bytes:
    """The VCALENDAR: ``REQUEST`` (new or changed) or ``CANCEL``.

    An e-mail carries one attendee, its recipient; ``seminar ics`` lists them all.
    Times are local with the rule-based VTIMEZONE for Europe/Copenhagen, and UTC
    for any other zone (whose rules we do not write out).
    """
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if meeting.start.tzinfo is None or meeting.end.tzinfo is None:
        raise ValueError("meeting times must be aware (never floating)")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    local = tzid == "Europe/Copenhagen"
    if local:
        cal.add_component(copenhagen_vtimezone(tzid))
    ev = Event()
    ev.add("uid", meeting.uid)
    ev.add("sequence", meeting.sequence)
    ev.add("dtstamp", stamp.astimezone(UTC))
    if local:
        ev.add("dtstart", _local(meeting.start), parameters={"TZID": tzid})
        ev.add("dtend", _local(meeting.end), parameters={"TZID": tzid})
    else:
        ev.add("dtstart", meeting.start.astimezone(UTC))
        ev.add("dtend", meeting.end.astimezone(UTC))
    ev.add("summary", meeting.title)
    ev.add("description", meeting.description)
    if meeting.location:
        ev.add("location", meeting.location)
    if meeting.url:
        ev.add("url", meeting.url)
    ev.add("organizer", _address(meeting.organiser))
    for attendee in attendees:
        who = _address(attendee)
        who.params["role"] = vText("REQ-PARTICIPANT")
        who.params["partstat"] = vText("NEEDS-ACTION")
        who.params["rsvp"] = vText("TRUE")
        ev.add("attendee", who, encode=0)
    if method == CANCEL:
        ev.add("status", "CANCELLED")
    else:
        ev.add("status", "CONFIRMED")
        ev.add("transp", "OPAQUE")
        for before, text in (
            (timedelta(days=1), meeting.alarm_day_before),
            (timedelta(hours=1), meeting.alarm_hour_before),
        ):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -before)
            alarm.add("description", text)
            ev.add_component(alarm)
    cal.add_component(ev)
    return cal.to_ical()
