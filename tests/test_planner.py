"""The pure reminder planner: the send window, deadlines to notifications, digests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.planner import (
    Audience,
    CouncilAudience,
    Deadline,
    Escalation,
    Kind,
    PlannedNotification,
    Recipient,
    SendWindow,
    plan_deadlines,
    plan_digests,
)
from scheduler.workdays import WorkingCalendar

CPH = ZoneInfo("Europe/Copenhagen")
CAL = WorkingCalendar()
WINDOW = SendWindow(tz=CPH, calendar=CAL)
EIGHT = time(8, 0)
PROPERTY = settings(max_examples=200, deadline=None)


def local(y: int, m: int, d: int, hh: int = 8, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CPH)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# People of council 1: Anne chairs (and is a member), Bo is a member, the secretariat
# has its own address, which the secretary Sofie also uses.
ANNE_SLACK = Recipient("person:1", "slack", "U0ANNE0001", "da", 1)
ANNE_MAIL = Recipient("person:1", "email", "anne@example.dk", "da", 1)
BO_MAIL = Recipient("person:2", "email", "bo@example.dk", "en", 2)
CHANNEL = Recipient("council:1:channel", "slack", "#lbr-test", "da")
SECRETARIAT = Recipient("council:1:secretariat", "email", "lbr@example.dk", "da")
SOFIE_SAME = Recipient("person:3", "email", "lbr@example.dk", "da", 3)
AUDIENCE = CouncilAudience(
    council_id=1,
    channel=(CHANNEL,),
    members=(ANNE_SLACK, ANNE_MAIL, BO_MAIL),
    chair=(ANNE_SLACK, ANNE_MAIL),
    secretariat=(SECRETARIAT, SOFIE_SAME),
)
AUDIENCES = {1: AUDIENCE}
EVERYONE = frozenset(Audience)


def deadline(
    day: date,
    offsets: tuple[int, ...] = (14, 7, 1, 0),
    *,
    source: str = "cycle:1",
    audiences: frozenset[Audience] = EVERYONE,
    escalations: tuple[Escalation, ...] = (),
) -> Deadline:
    return Deadline(
        source=source,
        council_id=1,
        day=day,
        offsets=offsets,
        audiences=audiences,
        message="reminder",
        params={"title_da": "Mål", "title_en": "Targets"},
        escalations=escalations,
    )


def plan(*deadlines: Deadline, send_at: time = EIGHT, now: datetime | None = None) -> list:
    return plan_deadlines(deadlines, AUDIENCES, WINDOW, send_at=send_at, now=now)


def due_day(p: PlannedNotification) -> date:
    return p.due_at.astimezone(CPH).date()


# --- SendWindow -----------------------------------------------------------------------------


def test_window_allows_working_hours_on_working_days_only() -> None:
    # Thursday 26 November 2026 (CET).
    assert WINDOW.allows(local(2026, 11, 26, 8, 0))
    assert WINDOW.allows(local(2026, 11, 26, 16, 59))
    assert not WINDOW.allows(local(2026, 11, 26, 7, 59))
    assert not WINDOW.allows(local(2026, 11, 26, 17, 0))
    assert not WINDOW.allows(local(2026, 11, 28, 10, 0))  # Saturday
    assert not WINDOW.allows(local(2026, 12, 24, 10, 0))  # Christmas Eve, closed by default
    # The same instant in UTC is judged by the local clock: 07:30 UTC is 08:30 CET.
    assert WINDOW.allows(utc(2026, 11, 26, 7, 30))
    assert not WINDOW.allows(utc(2026, 11, 26, 16, 30))  # 17:30 CET


def test_friday_evening_goes_to_monday_morning() -> None:
    found = WINDOW.next_allowed(local(2026, 11, 27, 17, 30))
    assert found == local(2026, 11, 30, 8, 0)
    assert found == utc(2026, 11, 30, 7, 0) and found.tzinfo == UTC


def test_saturday_goes_to_monday_morning() -> None:
    assert WINDOW.next_allowed(local(2026, 11, 28, 11, 15)) == local(2026, 11, 30, 8, 0)
    assert WINDOW.next_allowed(local(2026, 11, 29, 23, 59)) == local(2026, 11, 30, 8, 0)


def test_christmas_eve_is_closed_and_goes_to_the_next_working_day() -> None:
    # 24 Dec 2026 is a Thursday (closed), 25 Dec a holiday, then the weekend.
    assert WINDOW.next_allowed(local(2026, 12, 24, 10, 0)) == local(2026, 12, 28, 8, 0)
    assert WINDOW.next_allowed(local(2026, 12, 23, 17, 0)) == local(2026, 12, 28, 8, 0)
    # Without the closed day, Christmas Eve morning is an ordinary Thursday.
    open_eve = SendWindow(tz=CPH, calendar=WorkingCalendar(closed_days=()))
    assert open_eve.next_allowed(local(2026, 12, 24, 10, 0)) == local(2026, 12, 24, 10, 0)


def test_just_before_opening_goes_to_opening_the_same_day() -> None:
    assert WINDOW.next_allowed(local(2026, 11, 26, 7, 59)) == local(2026, 11, 26, 8, 0)
    assert WINDOW.next_allowed(local(2026, 11, 26, 0, 0)) == local(2026, 11, 26, 8, 0)


def test_an_allowed_instant_is_kept_as_is() -> None:
    moment = local(2026, 11, 26, 13, 37)
    assert WINDOW.next_allowed(moment) == moment


@pytest.mark.parametrize(
    ("evening", "next_morning_utc"),
    [
        # Summer time starts Sunday 29 March 2026: CET (UTC+1) before, CEST (UTC+2) after.
        (local(2026, 3, 27, 17, 30), utc(2026, 3, 30, 6, 0)),
        # Summer time ends Sunday 25 October 2026: CEST before, CET after.
        (local(2026, 10, 23, 17, 30), utc(2026, 10, 26, 7, 0)),
        # 2027: summer time starts 28 March, in the middle of Easter (Thu 25–Mon 29 closed).
        (local(2027, 3, 24, 18, 0), utc(2027, 3, 30, 6, 0)),
        # ... and ends 31 October.
        (local(2027, 10, 29, 18, 0), utc(2027, 11, 1, 7, 0)),
    ],
)
def test_opening_stays_at_eight_local_across_daylight_saving_changes(
    evening: datetime, next_morning_utc: datetime
) -> None:
    found = WINDOW.next_allowed(evening)
    assert found == next_morning_utc
    assert found.astimezone(CPH).time() == EIGHT
    # The evening's own day opened at 08:00 local too, in the other UTC offset.
    same_day_open = WINDOW.local(evening.date(), EIGHT)
    assert same_day_open.astimezone(CPH).time() == EIGHT
    assert same_day_open.hour != found.hour  # 07:00 UTC in winter, 06:00 UTC in summer


def test_local_is_utc_with_the_right_offset() -> None:
    assert WINDOW.local(date(2026, 1, 15), EIGHT) == utc(2026, 1, 15, 7)
    assert WINDOW.local(date(2026, 7, 15), EIGHT) == utc(2026, 7, 15, 6)


# --- plan_deadlines -------------------------------------------------------------------------


def test_offsets_fall_on_working_days_before_the_deadline_at_send_at() -> None:
    day = date(2027, 4, 15)  # Thursday; Easter (25-29 March 2027) lies 14 working days back
    planned = [p for p in plan(deadline(day)) if p.key.endswith("/email/person:2")]
    by_offset = {p.params["offset"]: p for p in planned}
    assert sorted(by_offset) == [0, 1, 7, 14]
    for offset, p in by_offset.items():
        assert p.kind is Kind.REMINDER
        assert CAL.is_working_day(due_day(p))
        assert CAL.working_days_between(due_day(p), day) == offset
        assert p.due_at.astimezone(CPH).time() == EIGHT
        assert p.key == f"cycle:1/d{offset}/email/person:2"
        assert p.params["deadline"] == "2027-04-15"
        assert p.expires_at == local(2027, 4, 16, 0, 0)
    assert due_day(by_offset[0]) == day
    assert due_day(by_offset[1]) == date(2027, 4, 14)
    assert due_day(by_offset[7]) == date(2027, 4, 6)
    assert due_day(by_offset[14]) == date(2027, 3, 23)  # skips Maundy Thursday–Easter Monday


def test_deadline_on_a_closed_day_anchors_on_the_previous_working_day() -> None:
    saturday = date(2027, 4, 17)
    anchor = date(2027, 4, 16)
    planned = [p for p in plan(deadline(saturday)) if p.key.endswith("/email/person:2")]
    by_offset = {p.params["offset"]: due_day(p) for p in planned}
    assert by_offset[0] == anchor
    for offset, day in by_offset.items():
        assert CAL.working_days_between(day, anchor) == offset
    # It still expires when the deadline day itself ends.
    assert {p.expires_at for p in planned} == {local(2027, 4, 18, 0, 0)}

    christmas_eve = date(2026, 12, 24)
    planned = plan(deadline(christmas_eve, (0,)))
    assert {due_day(p) for p in planned} == {date(2026, 12, 23)}


@st.composite
def deadline_lists(draw: st.DrawFn) -> list[Deadline]:
    days = draw(st.lists(st.dates(date(2026, 1, 1), date(2030, 12, 31)), min_size=1, max_size=4))
    return [
        deadline(
            day,
            tuple(draw(st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True))),
            source=f"cycle:{i}",
        )
        for i, day in enumerate(days)
    ]


def _inside_window(p: PlannedNotification) -> bool:
    here = p.due_at.astimezone(CPH)
    return CAL.is_working_day(here.date()) and EIGHT <= here.time() < time(17, 0)


@PROPERTY
@given(deadlines=deadline_lists(), send_at=st.times())
def test_nothing_is_ever_due_outside_working_hours(
    deadlines: list[Deadline], send_at: time
) -> None:
    planned = plan(*deadlines, send_at=send_at)
    assert planned
    for p in planned:
        assert p.due_at.tzinfo is not None and p.due_at.utcoffset() == timedelta(0)
        assert _inside_window(p), (p.key, p.due_at.astimezone(CPH))
        assert WINDOW.allows(p.due_at)


@PROPERTY
@given(deadlines=deadline_lists())
def test_at_eight_each_offset_is_exactly_that_many_working_days_before(
    deadlines: list[Deadline],
) -> None:
    planned = plan(*deadlines)
    by_source = {d.source: d for d in deadlines}
    for p in planned:
        d = by_source[p.source]
        anchor = CAL.previous_working_day(d.day)
        assert p.params["offset"] in d.offsets
        assert CAL.working_days_between(due_day(p), anchor) == p.params["offset"]
        assert p.due_at.astimezone(CPH).time() == EIGHT
    # Every offset of every deadline reaches every recipient once.
    expected = sum(len(d.offsets) for d in deadlines) * len(AUDIENCE.recipients(EVERYONE))
    assert len(planned) == expected


@PROPERTY
@given(deadlines=deadline_lists(), evening=st.times(time(17, 0), time(23, 59)))
def test_an_evening_send_at_moves_to_the_next_working_morning(
    deadlines: list[Deadline], evening: time
) -> None:
    by_source = {d.source: d for d in deadlines}
    for p in plan(*deadlines, send_at=evening):
        d = by_source[p.source]
        planned_day = CAL.shift_working_days(CAL.previous_working_day(d.day), -p.params["offset"])
        expected = CAL.next_working_day(planned_day, inclusive=False)
        assert p.expires_at is not None
        if datetime.combine(expected, EIGHT, tzinfo=CPH) >= p.expires_at:
            # The next morning is after the deadline: that day's own morning instead.
            expected = planned_day
        assert due_day(p) == expected
        assert p.due_at.astimezone(CPH).time() == EIGHT


def test_send_at_half_past_six_in_the_evening_goes_out_next_morning() -> None:
    # 7 working days before Thursday 15 April 2027 is Tuesday 6 April.
    planned = plan(deadline(date(2027, 4, 15), (7,)), send_at=time(18, 30))
    assert {p.due_at for p in planned} == {local(2027, 4, 7, 8, 0)}
    # A send_at inside the window is kept to the minute.
    planned = plan(deadline(date(2027, 4, 15), (7,)), send_at=time(10, 15))
    assert {p.due_at for p in planned} == {local(2027, 4, 6, 10, 15)}


def test_every_reminder_is_due_before_it_expires_even_with_an_evening_send_at() -> None:
    planned = plan(deadline(date(2027, 4, 15), (7, 1, 0)), send_at=time(18, 30))
    for p in planned:
        assert p.expires_at is not None
        assert p.due_at < p.expires_at, (p.key, p.due_at.astimezone(CPH))


@PROPERTY
@given(deadlines=deadline_lists(), send_at=st.times())
def test_keys_are_stable_and_unique(deadlines: list[Deadline], send_at: time) -> None:
    first = plan(*deadlines, send_at=send_at)
    second = plan(*reversed(deadlines), send_at=send_at)
    assert [p.key for p in first] == [p.key for p in second]
    assert first == second
    keys = [p.key for p in first]
    assert len(set(keys)) == len(keys)


def test_planned_in_due_order() -> None:
    planned = plan(deadline(date(2027, 6, 1)), deadline(date(2027, 5, 20), source="cycle:2"))
    assert [(p.due_at, p.key) for p in planned] == sorted((p.due_at, p.key) for p in planned)


def test_a_changed_address_keeps_the_key() -> None:
    moved = CouncilAudience(council_id=1, members=(Recipient("person:2", "email", "b@x.dk", "en"),))
    before = plan_deadlines(
        [deadline(date(2027, 6, 1), audiences=frozenset({Audience.MEMBERS}))],
        {1: CouncilAudience(council_id=1, members=(BO_MAIL,))},
        WINDOW,
        send_at=EIGHT,
    )
    after = plan_deadlines(
        [deadline(date(2027, 6, 1), audiences=frozenset({Audience.MEMBERS}))],
        {1: moved},
        WINDOW,
        send_at=EIGHT,
    )
    assert [p.key for p in before] == [p.key for p in after]
    assert {p.address for p in after} == {"b@x.dk"}


def test_recipients_deduplicate_the_same_address_across_audiences() -> None:
    found = AUDIENCE.recipients([Audience.MEMBERS, Audience.CHAIR, Audience.SECRETARIAT])
    pairs = [(r.channel, r.address) for r in found]
    assert len(pairs) == len(set(pairs))
    assert pairs == [
        ("slack", "U0ANNE0001"),
        ("email", "anne@example.dk"),
        ("email", "bo@example.dk"),
        ("email", "lbr@example.dk"),
    ]
    # The first holder of an address wins: the chair as a member, the council's mailbox.
    assert found[3].who == "council:1:secretariat"
    assert AUDIENCE.recipients([Audience.CHAIR]) == [ANNE_SLACK, ANNE_MAIL]
    assert AUDIENCE.recipients([Audience.CHANNEL]) == [CHANNEL]
    assert AUDIENCE.recipients([]) == []


def test_only_the_deadline_audiences_are_reminded() -> None:
    planned = plan(deadline(date(2027, 6, 1), (0,), audiences=frozenset({Audience.CHAIR})))
    assert sorted(p.address for p in planned) == ["U0ANNE0001", "anne@example.dk"]
    assert {p.person_id for p in planned} == {1}


def test_unknown_council_plans_nothing() -> None:
    lost = Deadline("cycle:9", 99, date(2027, 6, 1), (0,), EVERYONE, "reminder")
    assert plan_deadlines([lost], AUDIENCES, WINDOW, send_at=EIGHT) == []


def test_escalations_have_their_kind_condition_and_slot() -> None:
    day = date(2027, 8, 31)
    esc = Escalation(working_days=2, condition="short_of_answers")
    planned = plan(deadline(day, (7,), escalations=(esc,)))
    escalations = [p for p in planned if p.kind is Kind.ESCALATION]
    reminders = [p for p in planned if p.kind is Kind.REMINDER]
    # The default audiences: the chair (Slack and e-mail) and the secretariat's mailbox.
    assert sorted(p.address for p in escalations) == [
        "U0ANNE0001",
        "anne@example.dk",
        "lbr@example.dk",
    ]
    for p in escalations:
        assert p.condition == "short_of_answers"
        assert p.key.startswith("cycle:1/e2/")
        assert p.group_key.startswith("cycle:1/escalation/")
        assert p.message == "reminder.escalation"
        assert CAL.working_days_between(due_day(p), day) == 2
        assert p.due_at.astimezone(CPH).time() == EIGHT
        assert p.expires_at == local(2027, 9, 1, 0, 0)
    assert all(p.condition is None and "/d7/" in p.key for p in reminders)
    # An escalation never shares a group with a reminder, so it never supersedes one.
    assert not {p.group_key for p in escalations} & {p.group_key for p in reminders}


def test_a_passed_deadline_is_dropped() -> None:
    day = date(2027, 4, 15)
    end_of_day = local(2027, 4, 16, 0, 0)
    assert plan(deadline(day), now=end_of_day) == []
    assert plan(deadline(day), now=end_of_day + timedelta(days=30)) == []
    # Until the day ends even the overdue reminders are planned (the worker sends the newest).
    late = plan(deadline(day), now=end_of_day - timedelta(microseconds=1))
    assert {p.params["offset"] for p in late} == {14, 7, 1, 0}
    assert plan(deadline(day), now=end_of_day - timedelta(minutes=1)) == plan(deadline(day))


# --- plan_digests ---------------------------------------------------------------------------

DIGEST_READERS = [ANNE_SLACK, BO_MAIL]


def test_digest_is_one_per_recipient_per_week_on_monday_morning_keyed_by_iso_week() -> None:
    wednesday = date(2026, 11, 25)
    planned = plan_digests(DIGEST_READERS, wednesday, WINDOW, send_at=EIGHT)
    # This week's (kept all week, so a closed Monday or downtime still sends it once)
    # and next week's.
    assert [p.key for p in planned] == [
        "digest:person:1/w2026-48/slack",
        "digest:person:2/w2026-48/email",
        "digest:person:1/w2026-49/slack",
        "digest:person:2/w2026-49/email",
    ]
    nxt = planned[2:]
    for p in nxt:
        assert p.kind is Kind.DIGEST
        assert p.due_at == local(2026, 11, 30, 8, 0)
        assert p.expires_at == local(2026, 12, 7, 0, 0)
        assert p.params == {"week_start": "2026-11-30"}
        assert p.council_id is None
    assert {p.due_at for p in planned[:2]} == {local(2026, 11, 23, 8, 0)}
    assert [p.address for p in nxt] == ["U0ANNE0001", "bo@example.dk"]
    # Any day of the same week plans the same rows.
    for day in (date(2026, 11, 23), date(2026, 11, 29)):
        assert plan_digests(DIGEST_READERS, day, WINDOW, send_at=EIGHT) == planned
    following = plan_digests(DIGEST_READERS, date(2026, 12, 1), WINDOW, send_at=EIGHT)
    assert {p.key.split("/")[1] for p in following} == {"w2026-49", "w2026-50"}


def test_digest_after_easter_monday_goes_out_on_tuesday() -> None:
    planned = plan_digests(DIGEST_READERS, date(2027, 3, 24), WINDOW, send_at=EIGHT)
    easter = [p for p in planned if p.key.split("/")[1] == "w2027-13"]
    assert len(easter) == len(DIGEST_READERS)
    # Summer time began on 28 March: 08:00 CEST is 06:00 UTC.
    assert {p.due_at for p in easter} == {utc(2027, 3, 30, 6, 0)}
    assert {p.params["week_start"] for p in easter} == {"2027-03-29"}


def test_digest_week_key_uses_the_iso_year() -> None:
    # Monday 30 December 2030 starts ISO week 1 of 2031.
    planned = plan_digests([BO_MAIL], date(2030, 12, 27), WINDOW, send_at=EIGHT)
    assert planned[1].key == "digest:person:2/w2031-01/email"
    assert planned[1].due_at == local(2030, 12, 30, 8, 0)
    assert planned[1].params == {"week_start": "2030-12-30"}
    assert planned[0].key == "digest:person:2/w2030-52/email"


def test_no_digest_readers_no_digests() -> None:
    assert plan_digests([], date(2026, 11, 25), WINDOW, send_at=EIGHT) == []
