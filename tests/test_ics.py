"""bot.ics: the cycle as an RFC 5545 calendar, checked with two independent parsers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from bot.ics import PRODID, CalendarEntry, cycle_calendar, event_uid

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
COUNCIL_KEY = "lbr-gribskov"
COUNCIL_NAME = "LBR Gribskov"
YEAR = 2027

SEMINAR = CalendarEntry(
    key="plan_seminar",
    title="Planseminar",
    description="",
    owner="LBR",
    type="meeting",
    date=date(2027, 3, 4),
    sequence=0,
    reminders=(date(2027, 2, 25), date(2027, 3, 3), date(2027, 3, 4)),
)
HEARING = CalendarEntry(
    key="plan_hearing",
    title="Høring: beskæftigelsesplan, udkast; svar",
    description="Send planen i høring,\nmed kommentarer; tak.\nÆrø, Østerbro & Åbenrå",
    owner="jobcentre",
    type="hearing",
    date=date(2027, 4, 15),
    sequence=3,
    reminders=(date(2027, 4, 1), date(2027, 4, 14)),
)
DEADLINE = CalendarEntry(
    key="ministry_targets",
    title="Ministerens mål for beskæftigelsesindsatsen offentliggøres (årlig udmelding)",
    description="",
    owner="ministry",
    type="deadline",
    date=date(2027, 11, 30),  # DTEND crosses into December
    sequence=1,
    reminders=(),
)
ENTRIES = (SEMINAR, HEARING, DEADLINE)


def render(
    entries: Sequence[CalendarEntry] = ENTRIES,
    *,
    language: str = "da",
    now: datetime = NOW,
    send_at: time = time(8, 0),
    council_key: str = COUNCIL_KEY,
    year: int = YEAR,
) -> bytes:
    return cycle_calendar(
        council_key=council_key,
        council_name=COUNCIL_NAME,
        year=year,
        entries=entries,
        now=now,
        language=language,
        timezone="Europe/Copenhagen",
        send_at=send_at,
    )


def ical_events(data: bytes) -> list:
    return list(Calendar.from_ical(data).walk("VEVENT"))


def vobject_events(data: bytes) -> list:
    return list(vobject.readOne(data.decode("utf-8")).vevent_list)


def by_uid_ical(data: bytes) -> dict[str, object]:
    return {str(ev["UID"]): ev for ev in ical_events(data)}


def by_uid_vobject(data: bytes) -> dict[str, object]:
    return {ev.uid.value: ev for ev in vobject_events(data)}


def uid(entry: CalendarEntry) -> str:
    return event_uid(COUNCIL_KEY, YEAR, entry.key)


# --- structure -------------------------------------------------------------------------------


def test_output_parses_with_icalendar_and_vobject() -> None:
    data = render()
    assert isinstance(data, bytes)
    cal = Calendar.from_ical(data)
    assert cal.name == "VCALENDAR"
    parsed = vobject.readOne(data.decode("utf-8"))
    assert parsed.name == "VCALENDAR"


@pytest.mark.parametrize("entries", [(), (SEMINAR,), ENTRIES])
def test_one_vevent_per_entry(entries: Sequence[CalendarEntry]) -> None:
    data = render(entries)
    assert len(ical_events(data)) == len(entries)
    assert data.count(b"BEGIN:VEVENT\r\n") == len(entries)
    if entries:
        assert len(vobject_events(data)) == len(entries)


def test_calendar_properties() -> None:
    data = render()
    cal = Calendar.from_ical(data)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["PRODID"]) == PRODID
    assert str(cal["VERSION"]) == "2.0"
    parsed = vobject.readOne(data.decode("utf-8"))
    assert parsed.method.value == "PUBLISH"
    assert parsed.prodid.value == PRODID
    assert parsed.version.value == "2.0"


def test_events_are_all_day() -> None:
    data = render()
    icals, vobjs = by_uid_ical(data), by_uid_vobject(data)
    for entry in ENTRIES:
        stamp = entry.date.strftime("%Y%m%d")
        end = (entry.date + timedelta(days=1)).strftime("%Y%m%d")
        assert f"DTSTART;VALUE=DATE:{stamp}\r\n".encode() in data
        assert f"DTEND;VALUE=DATE:{end}\r\n".encode() in data
        ev = icals[uid(entry)]
        start, stop = ev["DTSTART"].dt, ev["DTEND"].dt
        assert type(start) is date and start == entry.date
        assert type(stop) is date and stop == entry.date + timedelta(days=1)
        vev = vobjs[uid(entry)]
        assert type(vev.dtstart.value) is date and vev.dtstart.value == entry.date
        assert vev.dtend.value == entry.date + timedelta(days=1)


def test_uid_is_derived_from_council_year_and_key() -> None:
    data = render()
    uids = [str(ev["UID"]) for ev in ical_events(data)]
    assert uids == [event_uid(COUNCIL_KEY, YEAR, e.key) for e in ENTRIES]
    assert [ev.uid.value for ev in vobject_events(data)] == uids
    assert len(set(uids)) == len(uids)
    assert all(COUNCIL_KEY in u and str(YEAR) in u and "@" in u for u in uids)


def test_uid_differs_between_years_and_councils() -> None:
    base = str(ical_events(render([SEMINAR]))[0]["UID"])
    other_year = str(ical_events(render([SEMINAR], year=2028))[0]["UID"])
    other_council = str(ical_events(render([SEMINAR], council_key="lbr-odense"))[0]["UID"])
    assert len({base, other_year, other_council}) == 3


def test_export_is_stable_apart_from_dtstamp() -> None:
    later = datetime(2027, 2, 1, 13, 45, 12, tzinfo=UTC)
    first, second = render(now=NOW), render(now=later)
    assert [str(ev["UID"]) for ev in ical_events(first)] == [
        str(ev["UID"]) for ev in ical_events(second)
    ]

    def without_dtstamp(data: bytes) -> list[bytes]:
        return [line for line in data.split(b"\r\n") if not line.startswith(b"DTSTAMP")]

    assert first != second
    assert without_dtstamp(first) == without_dtstamp(second)


def test_sequence_is_carried() -> None:
    data = render()
    icals, vobjs = by_uid_ical(data), by_uid_vobject(data)
    for entry in ENTRIES:
        assert int(icals[uid(entry)]["SEQUENCE"]) == entry.sequence
        assert int(vobjs[uid(entry)].sequence.value) == entry.sequence


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))],
    ids=["utc", "copenhagen"],
)
def test_dtstamp_is_now_in_utc(now: datetime) -> None:
    data = render(now=now)
    assert data.count(b"DTSTAMP:20261123T080000Z\r\n") == len(ENTRIES)
    for ev in ical_events(data):
        stamp = ev["DTSTAMP"].dt
        assert stamp == NOW
        assert stamp.utcoffset() == timedelta(0)
    for ev in vobject_events(data):
        assert ev.dtstamp.value == NOW


# --- the wire format -------------------------------------------------------------------------


def test_lines_end_in_crlf() -> None:
    data = render()
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    for line in lines[:-1]:
        assert b"\n" not in line and b"\r" not in line, line


def test_long_lines_are_folded_at_75_octets() -> None:
    long_title = "Høring om beskæftigelsesindsatsen: æøå ÆØÅ " * 4
    entry = CalendarEntry(
        key="long",
        title=long_title,
        description="Ærø og Åbenrå, " * 20,
        owner="RBR",
        type="hearing",
        date=date(2027, 5, 3),
        sequence=0,
        reminders=(),
    )
    data = render([entry, *ENTRIES])
    lines = data.split(b"\r\n")[:-1]
    assert any(line.startswith(b" ") for line in lines), "nothing was folded"
    for line in lines:
        assert len(line) <= 75, (len(line), line)
        line.decode("utf-8")  # a fold never splits a multi-byte character
    # Unfolded by both parsers, the text is whole again.
    assert str(by_uid_ical(data)[event_uid(COUNCIL_KEY, YEAR, "long")]["SUMMARY"]) == long_title
    assert by_uid_vobject(data)[event_uid(COUNCIL_KEY, YEAR, "long")].summary.value == long_title


# --- alarms --------------------------------------------------------------------------------


@pytest.mark.parametrize("send_at", [time(8, 0), time(7, 30), time(13, 15)])
def test_alarms_fire_on_the_reminder_dates_at_send_at(send_at: time) -> None:
    data = render(send_at=send_at)
    icals, vobjs = by_uid_ical(data), by_uid_vobject(data)
    for entry in ENTRIES:
        start = datetime.combine(entry.date, time())  # local midnight of the all-day start
        expected = sorted(datetime.combine(d, send_at) for d in entry.reminders)

        alarms = icals[uid(entry)].walk("VALARM")
        assert len(alarms) == len(entry.reminders)
        fired = sorted(start + alarm["TRIGGER"].dt for alarm in alarms)
        assert fired == expected
        for alarm in alarms:
            assert str(alarm["ACTION"]) == "DISPLAY"
            assert str(alarm["DESCRIPTION"]).strip()

        valarms = getattr(vobjs[uid(entry)], "valarm_list", [])
        assert len(valarms) == len(entry.reminders)
        assert sorted(start + a.trigger.value for a in valarms) == expected


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "da",
            [
                "Påmindelse: Planseminar om 7 dage",
                "Påmindelse: Planseminar i morgen",
                "I dag: Planseminar",
            ],
        ),
        (
            "en",
            [
                "Reminder: Planseminar in 7 days",
                "Reminder: Planseminar tomorrow",
                "Today: Planseminar",
            ],
        ),
    ],
)
def test_alarm_text_says_how_far_away_the_event_is(language: str, texts: list[str]) -> None:
    (event,) = ical_events(render([SEMINAR], language=language))
    alarms = sorted(event.walk("VALARM"), key=lambda a: a["TRIGGER"].dt)
    assert [str(a["DESCRIPTION"]) for a in alarms] == texts


# --- language and text -------------------------------------------------------------------------


def test_danish_text() -> None:
    data = render(language="da")
    cal = Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "Årshjul 2027 – LBR Gribskov"
    ev = by_uid_ical(data)[uid(HEARING)]
    assert str(ev["SUMMARY"]) == HEARING.title
    description = str(ev["DESCRIPTION"])
    assert "Høring" in description
    assert "ansvarlig: Jobcentret" in description
    assert "torsdag den 15. april 2027" in description
    assert "owner" not in description
    seminar = by_uid_ical(data)[uid(SEMINAR)]
    assert str(seminar["DESCRIPTION"]) == "Møde · ansvarlig: LBR · torsdag den 4. marts 2027"
    assert "Møde" in seminar["CATEGORIES"].to_ical().decode()


def test_english_text() -> None:
    data = render(language="en")
    cal = Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "Annual cycle 2027 – LBR Gribskov"
    ev = by_uid_ical(data)[uid(DEADLINE)]
    assert str(ev["SUMMARY"]) == DEADLINE.title
    description = str(ev["DESCRIPTION"])
    assert description == "Deadline · owner: Ministry · Tuesday 30 November 2027"
    assert "ansvarlig" not in description
    assert "Deadline" in ev["CATEGORIES"].to_ical().decode()
    vev = by_uid_vobject(data)[uid(HEARING)]
    assert "owner: Jobcentre" in vev.description.value
    assert "Thursday 15 April 2027" in vev.description.value


def test_unknown_language_falls_back_to_danish() -> None:
    assert render(language="de") == render(language="da")


def test_special_characters_round_trip() -> None:
    data = render([HEARING])
    # Escaped on the wire (RFC 5545 3.3.11) ...
    assert b"Send planen i h\xc3\xb8ring\\,\\nmed kommentarer\\; tak." in data
    # ... and restored by both parsers.
    (ev,) = ical_events(data)
    (vev,) = vobject_events(data)
    assert str(ev["SUMMARY"]) == HEARING.title
    assert vev.summary.value == HEARING.title
    assert str(ev["DESCRIPTION"]).startswith(HEARING.description + "\n\n")
    assert vev.description.value.startswith(HEARING.description + "\n\n")
    assert str(ev["DESCRIPTION"]) == vev.description.value
