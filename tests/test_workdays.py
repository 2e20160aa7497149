"""WorkingCalendar: which days are working days in Denmark, and arithmetic over them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.i18n import closed_day_text
from scheduler.errors import InputError
from scheduler.model import Adjust
from scheduler.workdays import (
    DEFAULT_CLOSED_DAYS,
    NAMED_CLOSED_DAYS,
    ClosedReason,
    WorkingCalendar,
)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def _without(name: str) -> WorkingCalendar:
    return WorkingCalendar(closed_days=[n for n in DEFAULT_CLOSED_DAYS if n != name])


# --- weekends ----------------------------------------------------------------------------


def test_weekends_are_closed_and_ordinary_weekdays_open(cal: WorkingCalendar) -> None:
    # 8–14 March 2027: Monday to Sunday, no holiday in that week.
    week = [date(2027, 3, 8) + timedelta(days=i) for i in range(7)]
    assert [cal.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_weekends_stay_closed_with_no_named_closed_days() -> None:
    cal = WorkingCalendar(closed_days=())
    assert not cal.is_working_day(date(2024, 6, 8))  # Saturday
    assert not cal.is_working_day(date(2024, 6, 9))  # Sunday
    assert cal.is_working_day(date(2024, 6, 10))  # Monday


# --- public holidays ---------------------------------------------------------------------

PUBLIC_HOLIDAYS = [
    # (date, what it is) — Easter Sunday 2023: 9 April, 2024: 31 March, 2025: 20 April,
    # 2027: 28 March.
    (date(2023, 4, 6), "Maundy Thursday 2023"),
    (date(2023, 4, 7), "Good Friday 2023"),
    (date(2023, 4, 10), "Easter Monday 2023"),
    (date(2023, 5, 18), "Ascension Day 2023"),
    (date(2023, 5, 29), "Whit Monday 2023"),
    (date(2023, 12, 25), "Christmas Day 2023 (Monday)"),
    (date(2023, 12, 26), "Boxing Day 2023 (Tuesday)"),
    (date(2024, 1, 1), "New Year's Day 2024 (Monday)"),
    (date(2024, 3, 28), "Maundy Thursday 2024"),
    (date(2024, 3, 29), "Good Friday 2024"),
    (date(2024, 4, 1), "Easter Monday 2024"),
    (date(2024, 5, 9), "Ascension Day 2024"),
    (date(2024, 5, 20), "Whit Monday 2024"),
    (date(2024, 12, 25), "Christmas Day 2024 (Wednesday)"),
    (date(2024, 12, 26), "Boxing Day 2024 (Thursday)"),
    (date(2025, 1, 1), "New Year's Day 2025 (Wednesday)"),
    (date(2025, 4, 17), "Maundy Thursday 2025"),
    (date(2025, 4, 18), "Good Friday 2025"),
    (date(2025, 4, 21), "Easter Monday 2025"),
    (date(2025, 5, 29), "Ascension Day 2025"),
    (date(2025, 6, 9), "Whit Monday 2025"),
    (date(2026, 1, 1), "New Year's Day 2026 (Thursday)"),
    (date(2027, 3, 25), "Maundy Thursday 2027"),
    (date(2027, 3, 26), "Good Friday 2027"),
    (date(2027, 3, 29), "Easter Monday 2027"),
    (date(2027, 5, 6), "Ascension Day 2027"),
    (date(2027, 5, 17), "Whit Monday 2027"),
]


@pytest.mark.parametrize(("day", "what"), PUBLIC_HOLIDAYS, ids=[w for _, w in PUBLIC_HOLIDAYS])
def test_public_holidays_are_closed(day: date, what: str) -> None:
    assert day.weekday() < 5, f"{what} should be a weekday for this test to mean anything"
    # Closed whatever the configurable closed days are: these are public holidays.
    assert not WorkingCalendar(closed_days=()).is_working_day(day)
    assert not WorkingCalendar().is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 3, 27),  # Wednesday before Maundy Thursday
        date(2024, 4, 2),  # Tuesday after Easter Monday
        date(2024, 5, 8),  # day before Ascension
        date(2024, 5, 10),  # Friday after Ascension (not a holiday)
        date(2024, 5, 21),  # Tuesday after Whit Monday
        date(2024, 12, 27),  # Friday after Boxing Day
        date(2024, 1, 2),  # day after New Year
    ],
)
def test_days_around_public_holidays_are_working_days(cal: WorkingCalendar, day: date) -> None:
    assert cal.is_working_day(day)


def test_great_prayer_day_closed_in_2023_and_earlier() -> None:
    cal = WorkingCalendar(closed_days=())
    assert not cal.is_working_day(date(2023, 5, 5))  # Friday, Easter + 26 days
    assert not cal.is_working_day(date(2022, 5, 13))
    assert closed_day_text(cal, date(2023, 5, 5), "da") == "Store bededag"


def test_great_prayer_day_abolished_from_2024() -> None:
    cal = WorkingCalendar()
    # 26 April 2024 would have been store bededag (Easter Sunday 31 March + 26 days).
    assert cal.is_working_day(date(2024, 4, 26))
    assert cal.closed_reason(date(2024, 4, 26)) is None
    assert cal.is_working_day(date(2025, 5, 16))  # and in 2025 (Easter 20 April + 26)


# --- configurable closed days ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("constitution_day", date(2024, 6, 5)),  # Wednesday
        ("christmas_eve", date(2024, 12, 24)),  # Tuesday
        ("new_years_eve", date(2024, 12, 31)),  # Tuesday
    ],
)
def test_default_closed_days_are_closed_and_can_be_opened(name: str, day: date) -> None:
    assert day.weekday() < 5
    assert not WorkingCalendar().is_working_day(day)
    assert _without(name).is_working_day(day)
    assert WorkingCalendar(closed_days=()).is_working_day(day)


def test_removing_one_default_closed_day_keeps_the_others_closed() -> None:
    cal = _without("christmas_eve")
    assert cal.is_working_day(date(2024, 12, 24))
    assert not cal.is_working_day(date(2024, 12, 31))
    assert not cal.is_working_day(date(2024, 6, 5))


def test_default_closed_days_are_what_the_domain_prescribes() -> None:
    assert set(DEFAULT_CLOSED_DAYS) == {"constitution_day", "christmas_eve", "new_years_eve"}
    assert WorkingCalendar().closed_day_names == DEFAULT_CLOSED_DAYS


def test_labour_day_open_by_default_and_closed_when_configured() -> None:
    may_first = date(2024, 5, 1)  # Wednesday
    assert WorkingCalendar().is_working_day(may_first)
    cal = WorkingCalendar(closed_days=[*DEFAULT_CLOSED_DAYS, "labour_day"])
    assert not cal.is_working_day(may_first)
    assert closed_day_text(cal, may_first, "da") == "Arbejdernes kampdag"
    assert closed_day_text(cal, may_first, "en") == "Labour Day"
    assert WorkingCalendar(closed_days=["labour_day"]).is_working_day(date(2024, 6, 5))


def test_extra_closed_dates_are_closed_only_on_that_date() -> None:
    local_holiday = date(2024, 8, 16)  # a Friday
    cal = WorkingCalendar(extra_closed=[local_holiday])
    assert not cal.is_working_day(local_holiday)
    assert cal.is_working_day(date(2025, 8, 15))  # same season next year: not closed
    assert cal.is_working_day(date(2024, 8, 15))
    assert WorkingCalendar().is_working_day(local_holiday)
    assert closed_day_text(cal, local_holiday, "da") == "lukkedag"
    assert closed_day_text(cal, local_holiday, "en") == "closed day"
    assert cal.previous_working_day(local_holiday) == date(2024, 8, 15)


def test_unknown_closed_day_name_raises_input_error_naming_it() -> None:
    with pytest.raises(InputError) as info:
        WorkingCalendar(closed_days=["constitution_day", "midsummer_eve"])
    message = str(info.value)
    assert "midsummer_eve" in message
    assert "constitution_day" not in message.split(";")[0]  # only the unknown one is blamed
    for known in NAMED_CLOSED_DAYS:  # and the valid names are listed
        assert known in message
    assert isinstance(info.value, ValueError)


# --- previous / next working day ---------------------------------------------------------


def test_previous_and_next_working_day_inclusive_on_a_working_day(cal: WorkingCalendar) -> None:
    wednesday = date(2024, 3, 27)
    assert cal.previous_working_day(wednesday) == wednesday
    assert cal.next_working_day(wednesday) == wednesday


def test_previous_and_next_working_day_strict_on_a_working_day(cal: WorkingCalendar) -> None:
    wednesday = date(2024, 3, 27)
    assert cal.previous_working_day(wednesday, inclusive=False) == date(2024, 3, 26)
    # Strictly after Wednesday 27 March 2024 come Maundy Thursday … Easter Monday.
    assert cal.next_working_day(wednesday, inclusive=False) == date(2024, 4, 2)


def test_previous_and_next_working_day_across_easter(cal: WorkingCalendar) -> None:
    for closed in (date(2024, 3, 28), date(2024, 3, 30), date(2024, 4, 1)):
        assert cal.previous_working_day(closed) == date(2024, 3, 27)
        assert cal.next_working_day(closed) == date(2024, 4, 2)
        assert cal.previous_working_day(closed, inclusive=False) == date(2024, 3, 27)
        assert cal.next_working_day(closed, inclusive=False) == date(2024, 4, 2)


def test_previous_working_day_across_christmas_and_new_year(cal: WorkingCalendar) -> None:
    # 2027: 24 Dec Friday (closed), 25–26 weekend + holidays, 31 Dec Friday (closed).
    assert cal.previous_working_day(date(2027, 12, 26)) == date(2027, 12, 23)
    assert cal.next_working_day(date(2027, 12, 24)) == date(2027, 12, 27)
    assert cal.next_working_day(date(2027, 12, 31)) == date(2028, 1, 3)
    assert cal.previous_working_day(date(2028, 1, 2)) == date(2027, 12, 30)


def test_adjust_follows_the_requested_direction(cal: WorkingCalendar) -> None:
    saturday = date(2024, 3, 9)
    assert cal.adjust(saturday, Adjust.PREVIOUS) == date(2024, 3, 8)
    assert cal.adjust(saturday, Adjust.NEXT) == date(2024, 3, 11)
    assert cal.adjust(saturday, Adjust.NONE) == saturday
    assert cal.adjust(date(2024, 3, 8), Adjust.NEXT) == date(2024, 3, 8)


# --- shift_working_days ------------------------------------------------------------------


def test_shift_monday_back_one_gives_previous_friday(cal: WorkingCalendar) -> None:
    assert cal.shift_working_days(date(2024, 3, 4), -1) == date(2024, 3, 1)


def test_shift_day_itself_is_never_counted(cal: WorkingCalendar) -> None:
    tuesday = date(2024, 3, 5)
    assert cal.shift_working_days(tuesday, 1) == date(2024, 3, 6)
    assert cal.shift_working_days(tuesday, -1) == date(2024, 3, 4)
    saturday = date(2024, 3, 9)
    assert cal.shift_working_days(saturday, 1) == date(2024, 3, 11)
    assert cal.shift_working_days(saturday, -1) == date(2024, 3, 8)


def test_shift_zero_returns_the_day_even_when_closed(cal: WorkingCalendar) -> None:
    assert cal.shift_working_days(date(2024, 3, 5), 0) == date(2024, 3, 5)
    assert cal.shift_working_days(date(2024, 3, 9), 0) == date(2024, 3, 9)


def test_shift_over_easter(cal: WorkingCalendar) -> None:
    before, after = date(2024, 3, 27), date(2024, 4, 2)
    assert cal.shift_working_days(before, 1) == after
    assert cal.shift_working_days(after, -1) == before
    assert cal.shift_working_days(before, 2) == date(2024, 4, 3)
    # Ten working days before Thursday 15 April 2027 skips nothing but weekends
    # (Easter Monday 2027 is 29 March): Thursday 1 April.
    assert cal.shift_working_days(date(2027, 4, 15), -10) == date(2027, 4, 1)
    # Ten working days after Monday 22 March 2027 skip Maundy Thursday, Good Friday and
    # Easter Monday: two weeks would be Monday 5 April, three days more is Thursday 8 April.
    assert cal.shift_working_days(date(2027, 3, 22), 10) == date(2027, 4, 8)


def test_shift_lands_only_on_working_days(cal: WorkingCalendar) -> None:
    start = date(2024, 12, 20)
    for n in range(-30, 31):
        if n:
            assert cal.is_working_day(cal.shift_working_days(start, n))


# --- working_days_between ----------------------------------------------------------------


def test_working_days_between_counts_the_half_open_interval(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2024, 3, 27), date(2024, 4, 2)) == 1
    assert cal.working_days_between(date(2024, 4, 2), date(2024, 3, 27)) == -1
    assert cal.working_days_between(date(2024, 3, 4), date(2024, 3, 4)) == 0
    assert cal.working_days_between(date(2024, 3, 4), date(2024, 3, 11)) == 5
    assert cal.working_days_between(date(2024, 3, 9), date(2024, 3, 10)) == 0


def test_working_days_between_inverts_shift_from_working_days(cal: WorkingCalendar) -> None:
    start = date(2024, 3, 1)
    working = [d for d in (start + timedelta(days=i) for i in range(60)) if cal.is_working_day(d)]
    for day in working:
        for n in range(-15, 16):
            target = cal.shift_working_days(day, n)
            assert cal.working_days_between(day, target) == n, (day, n, target)


def test_working_days_between_inverts_forward_shift_from_any_day(cal: WorkingCalendar) -> None:
    start = date(2024, 12, 20)
    for day in (start + timedelta(days=i) for i in range(20)):
        for n in range(16):
            assert cal.working_days_between(day, cal.shift_working_days(day, n)) == n


def test_working_days_between_inverts_backward_shift_from_a_closed_day(
    cal: WorkingCalendar,
) -> None:
    saturday = date(2024, 3, 9)
    friday = cal.shift_working_days(saturday, -1)
    assert friday == date(2024, 3, 8)
    assert cal.working_days_between(saturday, friday) == -1


# --- closed_reason -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "danish", "english"),
    [
        (date(2024, 3, 29), "Langfredag", "Good Friday"),
        (date(2024, 12, 25), "Juledag", "Christmas Day"),
        (date(2024, 1, 1), "Nytårsdag", "New Year's Day"),
        (date(2024, 6, 5), "Grundlovsdag", "Constitution Day"),
        (date(2024, 12, 24), "Juleaftensdag", "Christmas Eve"),
        (date(2024, 12, 31), "Nytårsaftensdag", "New Year's Eve"),
        (date(2023, 5, 5), "Store bededag", "Great Prayer Day"),
    ],
)
def test_closed_reason_in_danish_and_english(
    cal: WorkingCalendar, day: date, danish: str, english: str
) -> None:
    assert closed_day_text(cal, day, "da") == danish
    assert closed_day_text(cal, day, "en") == english
    # An unknown language falls back to Danish, as every catalogue text does.
    assert closed_day_text(cal, day, "fr") == danish
    assert cal.closed_reason(day) is not None


def test_closed_reason_is_none_for_working_days_and_plain_weekends(cal: WorkingCalendar) -> None:
    assert cal.closed_reason(date(2024, 3, 27)) is None
    assert closed_day_text(cal, date(2024, 3, 27), "en") is None
    assert closed_day_text(cal, date(2024, 3, 9), "da") is None
    assert cal.closed_reason(date(2024, 3, 9)) is None  # ordinary Saturday


def test_closed_reason_none_for_a_named_day_that_is_not_configured() -> None:
    assert _without("constitution_day").closed_reason(date(2024, 6, 5)) is None


def test_closed_reason_says_which_kind_of_closed_day() -> None:
    cal = WorkingCalendar(extra_closed=[date(2024, 8, 16)])
    assert cal.closed_reason(date(2024, 3, 29)) == ClosedReason("holiday")
    assert cal.closed_reason(date(2024, 6, 5)) == ClosedReason("named", "constitution_day")
    assert cal.closed_reason(date(2024, 12, 24)) == ClosedReason("named", "christmas_eve")
    assert cal.closed_reason(date(2024, 8, 16)) == ClosedReason("extra")
    assert cal.closed_reason(date(2024, 3, 9)) is None  # a plain Saturday


def test_public_holiday_name_wins_over_a_named_closed_day() -> None:
    # 5 June 2017 was both Constitution Day and Whit Monday.
    calendar = WorkingCalendar()
    assert calendar.closed_reason(date(2017, 6, 5)) == ClosedReason("holiday")
    assert closed_day_text(calendar, date(2017, 6, 5), "da") == "Anden pinsedag"
    assert closed_day_text(calendar, date(2018, 6, 5), "da") == "Grundlovsdag"
