"""Calendar invitations (iTIP REQUEST/CANCEL), parsed by icalendar and by vobject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from bot.invites import CANCEL, REQUEST, Invitee, MeetingInvite, invitation

CPH = ZoneInfo("Europe/Copenhagen")
STAMP = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ORGANISER = Invitee("LBR Test, sekretariatet", "lbr@example.dk")
ANNE = Invitee("Anne Ørsted", "anne@example.dk")


def meeting(
    day: int, month: int = 3, sequence: int = 0, title: str = "Planseminar"
) -> MeetingInvite:
    return MeetingInvite(
        uid="meeting-7@aarshjul",
        sequence=sequence,
        title=title,
        start=datetime(2027, month, day, 9, 0, tzinfo=CPH),
        end=datetime(2027, month, day, 15, 0, tzinfo=CPH),
        location="Rådhuset, sal 2",
        url="https://example.dk/m/7",
        description="Dagsorden:\n1. Beskæftigelsesplanen",
        organiser=ORGANISER,
        alarm_day_before="I morgen: Planseminar",
        alarm_hour_before="Om en time: Planseminar",
    )


@pytest.mark.parametrize(
    ("day", "offset"),
    [(26, timedelta(hours=1)), (29, timedelta(hours=2))],  # DST begins 28 March 2027
)
def test_times_are_the_local_ones_entered_on_both_sides_of_dst(day: int, offset: timedelta) -> None:
    raw = invitation(meeting(day), [ANNE], method=REQUEST, stamp=STAMP)
    event = icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start.hour, end.hour) == (9, 15) and start.utcoffset() == offset
    second = vobject.readOne(raw.decode())
    assert second.vevent.dtstart.value.utcoffset() == offset
    assert second.vevent.dtstart.value.hour == 9 and second.vevent.dtend.value.hour == 15


def test_request_names_the_organiser_and_the_one_attendee_who_may_answer() -> None:
    raw = invitation(meeting(26, sequence=3), [ANNE], method=REQUEST, stamp=STAMP)
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["method"]) == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["uid"]) == "meeting-7@aarshjul" and int(event["sequence"]) == 3
    assert str(event["organizer"]) == "mailto:lbr@example.dk"
    assert event["organizer"].params["CN"] == "LBR Test, sekretariatet"
    attendee = event["attendee"]
    assert str(attendee) == "mailto:anne@example.dk"
    assert dict(attendee.params) == {
        "CN": "Anne Ørsted",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "TRUE",
    }
    assert event.decoded("dtstamp") == STAMP
    triggers = sorted(a.decoded("trigger") for a in event.walk("VALARM"))
    assert triggers == [timedelta(days=-1), timedelta(hours=-1)]
    assert str(event["location"]) == "Rådhuset, sal 2" and str(event["url"]).endswith("/m/7")
    tz = cal.walk("VTIMEZONE")[0]
    rules = sorted(str(c["rrule"].to_ical(), "ascii") for c in tz.subcomponents)
    assert rules == ["FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"]
    assert b"RDATE" not in raw


def test_cancel_has_the_same_uid_and_says_cancelled_without_alarms() -> None:
    raw = invitation(meeting(26, sequence=4), [ANNE], method=CANCEL, stamp=STAMP)
    cal = icalendar.Calendar.from_ical(raw)
    event = cal.walk("VEVENT")[0]
    assert str(cal["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == "meeting-7@aarshjul" and int(event["sequence"]) == 4
    assert not event.walk("VALARM")


def test_a_title_cannot_break_out_of_its_property() -> None:
    raw = invitation(
        meeting(26, title="Møde\r\nATTENDEE:mailto:evil@example.com"),
        [ANNE],
        method=REQUEST,
        stamp=STAMP,
    )
    event = icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]
    attendees = event["attendee"]
    assert not isinstance(attendees, list) and str(attendees) == "mailto:anne@example.dk"
    assert b"\r\nATTENDEE:mailto:evil" not in raw


def test_floating_times_and_unknown_methods_are_refused() -> None:
    floating = MeetingInvite(
        **{**meeting(26).__dict__, "start": datetime(2027, 3, 26, 9, 0)}  # type: ignore[arg-type]
    )
    with pytest.raises(ValueError, match="aware"):
        invitation(floating, [ANNE], method=REQUEST, stamp=STAMP)
    with pytest.raises(ValueError, match="REQUEST or CANCEL"):
        invitation(meeting(26), [ANNE], method="PUBLISH", stamp=STAMP)
