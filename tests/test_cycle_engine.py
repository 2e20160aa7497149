"""The annual-cycle engine: exact dates for the default template and each rule kind."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date
from typing import Any

import pytest

from scheduler.cycle import DatedEvent, compute_cycle, nth_weekday
from scheduler.model import CouncilKind
from scheduler.reminders import reminder_offsets
from scheduler.template import CycleTemplate, load_template, parse_template
from scheduler.workdays import WorkingCalendar
from tests.template_text import event

# --- helpers -----------------------------------------------------------------------------


def template(*events: str) -> CycleTemplate:
    text = 'key = "t"\nname_da = "T"\nname_en = "T"\n\n' + "\n".join(events)
    return parse_template(text, "test.toml")


def fixed(month: int, day: int) -> dict[str, Any]:
    return {"kind": "fixed", "month": month, "day": day}


def offset(anchor: str, amount: int, unit: str, direction: str) -> dict[str, Any]:
    return {
        "kind": "offset",
        "from": anchor,
        "amount": amount,
        "unit": unit,
        "direction": direction,
    }


def lwdb(**anchor: Any) -> dict[str, Any]:
    return {"kind": "last_working_day_before", **anchor}


def dates(events: list[DatedEvent]) -> dict[str, date]:
    return {e.key: e.date for e in events}


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def default() -> CycleTemplate:
    return load_template("default")


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# --- the default template, 2027 ----------------------------------------------------------

LBR_2027 = {
    # 28 Feb 2027 is a Sunday: last working day before 1 March is Friday 26 February.
    "analysis_report": d("2027-02-26"),
    # 1 March 2027 is a Monday: Thursdays 4 and 11 March.
    "annual_conference": d("2027-03-11"),
    # 15 April 2027 is a Thursday; Easter 2027 is over by then (Easter Monday 29 March).
    "targets": d("2027-04-15"),
    # Six weeks after Thursday 15 April: Thursday 27 May (Whit Monday was 17 May).
    "plan_seminar": d("2027-05-27"),
    # Ten working days before Wednesday 30 June, no holidays in between.
    "result_review_hearing": d("2027-06-16"),
    "result_review_published": d("2027-06-30"),
    # Two weeks before Tuesday 31 August.
    "business_plan": d("2027-08-17"),
    # 31 August 2027 is a Tuesday: last working day before 1 September.
    "employment_plan_hearing": d("2027-08-31"),
    # Three weeks after 31 August.
    "region_comments": d("2027-09-21"),
    # 31 December 2027 is a Friday, but New Year's Eve is closed by default.
    "employment_plan_adopted": d("2027-12-30"),
}

RBR_2027 = {
    "analysis_report": d("2027-02-26"),
    "annual_conference": d("2027-03-11"),
    "targets": d("2027-04-15"),
    "result_review_published": d("2027-06-30"),
    # Derived from employment_plan_hearing, which is an LBR event only.
    "region_comments": d("2027-09-21"),
    # 1 October 2027 is a Friday: Wednesdays 6 and 13 October.
    "minister_meeting": d("2027-10-13"),
    "contract": d("2027-12-15"),  # a Wednesday
    "employment_plan_adopted": d("2027-12-30"),
}

BER_2027 = {
    "analysis_report": d("2027-02-26"),
    # Ten working days before Thursday 15 April 2027: Thursday 1 April (no holiday between).
    "ber_recommendation": d("2027-04-01"),
    "targets": d("2027-04-15"),
}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(CouncilKind.LBR, LBR_2027), (CouncilKind.RBR, RBR_2027), (CouncilKind.BER, BER_2027)],
)
def test_default_template_2027_exact_dates(
    default: CycleTemplate, cal: WorkingCalendar, kind: CouncilKind, expected: dict[str, date]
) -> None:
    result = compute_cycle(default, 2027, cal, kind=kind)
    assert [(e.key, e.date) for e in result] == sorted(expected.items(), key=lambda kv: kv[1])
    assert all(e.date == e.computed and not e.overridden for e in result)


def test_default_template_all_kinds_is_the_union(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    everything = dates(compute_cycle(default, 2027, cal))
    assert set(everything) == set(default.events)
    for expected in (LBR_2027, RBR_2027, BER_2027):
        for key, day in expected.items():
            assert everything[key] == day


def test_default_template_2022_targets_on_good_friday(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    # Easter Sunday 2022 was 17 April: 15 April was Good Friday, 14 April Maundy Thursday.
    got = dates(compute_cycle(default, 2022, cal))
    assert got["targets"] == d("2022-04-13")
    # Everything hanging off the targets starts from the moved date.
    assert got["plan_seminar"] == d("2022-05-25")  # six weeks after Wednesday 13 April
    assert got["ber_recommendation"] == d("2022-03-30")  # ten working days before
    # 31 December 2022 is a Saturday (and New Year's Eve): Friday 30 December.
    assert got["employment_plan_adopted"] == d("2022-12-30")


def test_default_template_closed_days_config_changes_the_result(default: CycleTemplate) -> None:
    open_nye = WorkingCalendar(closed_days=["constitution_day", "christmas_eve"])
    got = dates(compute_cycle(default, 2027, open_nye, kind=CouncilKind.LBR))
    assert got["employment_plan_adopted"] == d("2027-12-31")


def test_kind_filter_keeps_only_applicable_events(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    for kind in CouncilKind:
        result = compute_cycle(default, 2027, cal, kind=kind)
        assert {e.key for e in result} == {
            k for k, ev in default.events.items() if kind in ev.applies_to
        }
        assert all(e.event.applies(kind) for e in result)


def test_offsets_from_events_that_do_not_apply_still_work(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    rbr = dates(compute_cycle(default, 2027, cal, kind=CouncilKind.RBR))
    assert "employment_plan_hearing" not in rbr
    assert rbr["region_comments"] == d("2027-09-21")

    t = template(
        event("anchor", fixed(3, 1), applies_to=["BER"]),
        event("follower", offset("anchor", 1, "weeks", "after"), applies_to=["LBR"]),
    )
    lbr = compute_cycle(t, 2027, WorkingCalendar(), kind=CouncilKind.LBR)
    assert [(e.key, e.date) for e in lbr] == [("follower", d("2027-03-08"))]
    assert compute_cycle(t, 2027, WorkingCalendar(), kind=CouncilKind.RBR) == []


def test_results_sorted_by_date_with_template_order_breaking_ties(cal: WorkingCalendar) -> None:
    t = template(
        event("late", fixed(11, 2)),
        event("same_b", offset("same_a", 0, "days", "after")),  # same date as its anchor
        event("early", fixed(1, 5)),
        event("same_a", fixed(6, 1)),
    )
    result = compute_cycle(t, 2027, cal)
    assert [e.key for e in result] == ["early", "same_b", "same_a", "late"]
    assert [e.date for e in result] == sorted(e.date for e in result)


def test_default_results_are_sorted(default: CycleTemplate, cal: WorkingCalendar) -> None:
    for year in (2007, 2015, 2027, 2038):
        for kind in (None, *CouncilKind):
            days = [e.date for e in compute_cycle(default, year, cal, kind=kind)]
            assert days == sorted(days)


def test_compute_cycle_is_deterministic(default: CycleTemplate) -> None:
    first = compute_cycle(default, 2031, WorkingCalendar())
    second = compute_cycle(default, 2031, WorkingCalendar())
    assert first == second


# --- nth_weekday -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2027, 3, 3, 2), "2027-03-11"),  # second Thursday of March 2027
        ((2027, 3, 0, 1), "2027-03-01"),  # the month starts on that weekday
        ((2027, 3, 6, 1), "2027-03-07"),  # first Sunday
        ((2027, 3, 0, 4), "2027-03-22"),
        ((2027, 10, 2, 2), "2027-10-13"),  # second Wednesday of October 2027
        ((2027, 12, 4, -1), "2027-12-31"),  # last Friday of December 2027 is the 31st
        ((2027, 12, 3, -1), "2027-12-30"),
        ((2028, 12, 6, -1), "2028-12-31"),  # last Sunday of December 2028
        ((2028, 12, 0, -1), "2028-12-25"),
        ((2028, 2, 1, -1), "2028-02-29"),  # last Tuesday of February in a leap year
        ((2028, 2, 0, -1), "2028-02-28"),
        ((2027, 2, 6, -1), "2027-02-28"),
        ((2027, 1, 0, -1), "2027-01-25"),
        ((2027, 11, 1, -1), "2027-11-30"),
    ],
)
def test_nth_weekday_known_values(args: tuple[int, int, int, int], expected: str) -> None:
    assert nth_weekday(*args) == d(expected)


def test_nth_weekday_matches_the_stdlib_calendar() -> None:
    for year in (2000, 2023, 2024, 2027, 2100):
        for month in range(1, 13):
            weeks = stdlib_calendar.Calendar().monthdatescalendar(year, month)
            for weekday in range(7):
                days = [w[weekday] for w in weeks if w[weekday].month == month]
                for n in (1, 2, 3, 4):
                    assert nth_weekday(year, month, weekday, n) == days[n - 1]
                assert nth_weekday(year, month, weekday, -1) == days[-1]


# --- each rule kind ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adjust", "expected"),
    [
        # 25 Dec 2026 is a Friday and Christmas Day; 24 Dec (Thursday) is closed by default.
        ("previous_working_day", "2026-12-23"),
        ("next_working_day", "2026-12-28"),  # 26–27 are the weekend (and Boxing Day)
        ("none", "2026-12-25"),
    ],
)
def test_fixed_rule_on_a_holiday(cal: WorkingCalendar, adjust: str, expected: str) -> None:
    t = template(event("xmas", fixed(12, 25), adjust=adjust))
    [only] = compute_cycle(t, 2026, cal)
    assert only.date == only.computed == d(expected)


def test_fixed_rule_default_adjust_is_previous(cal: WorkingCalendar) -> None:
    t = template(event("xmas", fixed(12, 25)))
    assert dates(compute_cycle(t, 2026, cal)) == {"xmas": d("2026-12-23")}
    open_eve = WorkingCalendar(closed_days=["constitution_day", "new_years_eve"])
    assert dates(compute_cycle(t, 2026, open_eve)) == {"xmas": d("2026-12-24")}


def test_fixed_rule_on_a_working_day_is_unchanged(cal: WorkingCalendar) -> None:
    t = template(event("a", fixed(4, 15), adjust="next_working_day"))
    assert dates(compute_cycle(t, 2027, cal)) == {"a": d("2027-04-15")}


@pytest.mark.parametrize(
    ("adjust", "expected"),
    [
        ("previous_working_day", "2027-05-05"),
        ("next_working_day", "2027-05-07"),
        ("none", "2027-05-06"),
    ],
)
def test_nth_weekday_rule_on_ascension_day(
    cal: WorkingCalendar, adjust: str, expected: str
) -> None:
    # The first Thursday of May 2027 is Ascension Day (Easter Sunday 28 March + 39).
    rule = {"kind": "nth_weekday", "month": 5, "weekday": "thursday", "n": 1}
    t = template(event("meeting", rule, adjust=adjust))
    assert dates(compute_cycle(t, 2027, cal)) == {"meeting": d(expected)}


def test_nth_weekday_rule_last_of_december(cal: WorkingCalendar) -> None:
    rule = {"kind": "nth_weekday", "month": 12, "weekday": "friday", "n": -1}
    t = template(event("last_friday", rule))
    # Friday 31 December 2027 is New Year's Eve (closed): Thursday 30 December.
    assert dates(compute_cycle(t, 2027, cal)) == {"last_friday": d("2027-12-30")}
    # Friday 29 December 2028 is open.
    assert dates(compute_cycle(t, 2028, cal)) == {"last_friday": d("2028-12-29")}


@pytest.mark.parametrize(
    ("amount", "unit", "direction", "adjust", "expected"),
    [
        # Anchor: Monday 1 March 2027.
        (5, "days", "after", "previous_working_day", "2027-03-05"),  # Sat 6 → Fri 5
        (5, "days", "after", "next_working_day", "2027-03-08"),  # Sat 6 → Mon 8
        (5, "days", "after", "none", "2027-03-06"),
        (2, "days", "before", "previous_working_day", "2027-02-26"),  # Sat 27 Feb → Fri 26
        (2, "days", "before", "next_working_day", "2027-03-01"),
        (3, "days", "before", "none", "2027-02-26"),
        (0, "days", "after", "previous_working_day", "2027-03-01"),
        (2, "weeks", "after", "previous_working_day", "2027-03-15"),
        (3, "weeks", "before", "previous_working_day", "2027-02-08"),
        # Four weeks after is Monday 29 March 2027: Easter Monday.
        (4, "weeks", "after", "previous_working_day", "2027-03-24"),
        (4, "weeks", "after", "next_working_day", "2027-03-30"),
        (4, "weeks", "after", "none", "2027-03-29"),
        (1, "working_days", "after", "previous_working_day", "2027-03-02"),
        (1, "working_days", "before", "previous_working_day", "2027-02-26"),
        (20, "working_days", "after", "previous_working_day", "2027-04-01"),
        (21, "working_days", "after", "none", "2027-04-02"),
    ],
)
def test_offset_rule(
    cal: WorkingCalendar, amount: int, unit: str, direction: str, adjust: str, expected: str
) -> None:
    t = template(
        event("anchor", fixed(3, 1)),
        event("target", offset("anchor", amount, unit, direction), adjust=adjust),
    )
    got = dates(compute_cycle(t, 2027, cal))
    assert got["anchor"] == d("2027-03-01")
    assert got["target"] == d(expected)


def test_working_days_offset_over_easter(cal: WorkingCalendar) -> None:
    t = template(
        event("wed", fixed(3, 24)),
        event("tue", fixed(3, 30)),
        event("after_wed", offset("wed", 1, "working_days", "after")),
        event("before_tue", offset("tue", 1, "working_days", "before")),
        event("three_after", offset("wed", 3, "working_days", "after")),
    )
    got = dates(compute_cycle(t, 2027, cal))
    assert got["after_wed"] == d("2027-03-30")  # skips 25, 26, weekend, 29
    assert got["before_tue"] == d("2027-03-24")
    assert got["three_after"] == d("2027-04-01")


def test_offset_starts_from_the_adjusted_anchor(cal: WorkingCalendar) -> None:
    t = template(
        event("anchor", fixed(3, 6), adjust="next_working_day"),  # Sat 6 → Mon 8 March 2027
        event("next_day", offset("anchor", 1, "days", "after")),
        event("chain", offset("next_day", 1, "weeks", "after")),
    )
    got = dates(compute_cycle(t, 2027, cal))
    assert got == {
        "anchor": d("2027-03-08"),
        "next_day": d("2027-03-09"),
        "chain": d("2027-03-16"),
    }


def test_last_working_day_before_a_date(cal: WorkingCalendar) -> None:
    t = template(
        event("before_easter_tuesday", lwdb(month=3, day=30)),
        event("before_april", lwdb(month=4, day=1)),
        event("before_new_year", lwdb(month=1, day=1)),
    )
    got = dates(compute_cycle(t, 2027, cal))
    # 29 March 2027 is Easter Monday, 25–26 Maundy Thursday and Good Friday.
    assert got["before_easter_tuesday"] == d("2027-03-24")
    # Strictly before: 31 March 2027 is a Wednesday, a working day.
    assert got["before_april"] == d("2027-03-31")
    # Before 1 January 2027 lies in 2026: New Year's Eve (Thursday) is closed.
    assert got["before_new_year"] == d("2026-12-30")


def test_last_working_day_before_an_event(cal: WorkingCalendar) -> None:
    t = template(
        event("thursday", fixed(4, 1)),
        event("easter_tuesday", fixed(3, 30)),
        event("before_thursday", lwdb(**{"from": "thursday"})),
        event("before_tuesday", lwdb(**{"from": "easter_tuesday"})),
    )
    got = dates(compute_cycle(t, 2027, cal))
    assert got["before_thursday"] == d("2027-03-31")  # strictly before a working day
    assert got["before_tuesday"] == d("2027-03-24")


# --- overrides ---------------------------------------------------------------------------


def test_override_moves_the_event_and_its_dependents(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    base = {e.key: e for e in compute_cycle(default, 2027, cal)}
    moved = {
        e.key: e for e in compute_cycle(default, 2027, cal, overrides={"targets": d("2027-04-22")})
    }
    assert moved["targets"].date == d("2027-04-22")
    assert moved["targets"].computed == d("2027-04-15")
    assert moved["targets"].overridden
    assert moved["plan_seminar"].date == d("2027-06-03")  # six weeks after 22 April
    # Ten working days before Thursday 22 April 2027: Thursday 8 April.
    assert moved["ber_recommendation"].date == d("2027-04-08")
    followers = default.dependents("targets")
    for key, dated in base.items():
        if key != "targets" and key not in followers:
            assert moved[key].date == dated.date, key
            assert not moved[key].overridden, key
    assert [k for k, e in moved.items() if e.overridden] == ["targets"]


def test_override_follows_transitively_and_leaves_the_rest(cal: WorkingCalendar) -> None:
    t = template(
        event("a", fixed(3, 1)),  # Monday 1 March 2027
        event("b", offset("a", 1, "weeks", "after")),
        event("c", offset("b", 2, "working_days", "after")),
        event("d", lwdb(**{"from": "c"})),
        event("other", fixed(3, 15)),
        event("other_child", offset("other", 1, "days", "after")),
    )
    base = dates(compute_cycle(t, 2027, cal))
    assert base == {
        "a": d("2027-03-01"),
        "b": d("2027-03-08"),
        "c": d("2027-03-10"),
        "d": d("2027-03-09"),
        "other": d("2027-03-15"),
        "other_child": d("2027-03-16"),
    }
    result = compute_cycle(t, 2027, cal, overrides={"a": d("2027-03-15")})
    got = dates(result)
    assert got == {
        "a": d("2027-03-15"),
        "b": d("2027-03-22"),
        "c": d("2027-03-24"),
        # c moved to Wednesday 24 March; the day before is a working day.
        "d": d("2027-03-23"),
        "other": d("2027-03-15"),
        "other_child": d("2027-03-16"),
    }
    assert {e.key for e in result if e.overridden} == {"a"}


def test_override_in_the_middle_of_a_chain(cal: WorkingCalendar) -> None:
    t = template(
        event("a", fixed(3, 1)),
        event("b", offset("a", 1, "weeks", "after")),
        event("c", offset("b", 1, "weeks", "after")),
    )
    result = compute_cycle(t, 2027, cal, overrides={"b": d("2027-04-06")})
    by_key = {e.key: e for e in result}
    assert by_key["a"].date == d("2027-03-01") and not by_key["a"].overridden
    assert by_key["b"].date == d("2027-04-06") and by_key["b"].overridden
    assert by_key["b"].computed == d("2027-03-08")
    assert by_key["c"].date == d("2027-04-13") and not by_key["c"].overridden


def test_override_of_an_event_outside_the_kind_still_moves_its_dependents(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    rbr = dates(
        compute_cycle(
            default,
            2027,
            cal,
            kind=CouncilKind.RBR,
            overrides={"employment_plan_hearing": d("2027-08-24")},
        )
    )
    assert "employment_plan_hearing" not in rbr
    assert rbr["region_comments"] == d("2027-09-14")


def test_dependent_of_an_override_keeps_its_template_date_as_computed(
    default: CycleTemplate, cal: WorkingCalendar
) -> None:
    # DatedEvent: "date differs from computed when the event or its anchor was moved".
    base = {e.key: e.date for e in compute_cycle(default, 2027, cal)}
    moved = {
        e.key: e for e in compute_cycle(default, 2027, cal, overrides={"targets": d("2027-04-22")})
    }
    assert moved["plan_seminar"].date == d("2027-06-03")
    assert moved["plan_seminar"].computed == d("2027-05-27")
    assert moved["ber_recommendation"].computed == d("2027-04-01")
    assert not moved["plan_seminar"].overridden
    assert {key: e.computed for key, e in moved.items()} == base


def test_zero_working_days_offset_from_a_closed_anchor_is_adjusted(cal: WorkingCalendar) -> None:
    t = template(
        event("anchor", fixed(3, 6), adjust="none"),  # Saturday 6 March 2027
        event("same_day", offset("anchor", 0, "working_days", "after")),
        event("same_next", offset("anchor", 0, "working_days", "after"), adjust="next_working_day"),
        event("same_none", offset("anchor", 0, "working_days", "after"), adjust="none"),
        event("from_monday", offset("same_next", 0, "working_days", "before")),
    )
    got = dates(compute_cycle(t, 2027, cal))
    assert got == {
        "anchor": d("2027-03-06"),
        "same_day": d("2027-03-05"),
        "same_next": d("2027-03-08"),
        "same_none": d("2027-03-06"),
        "from_monday": d("2027-03-08"),
    }


# --- reminder offsets --------------------------------------------------------------------


def test_reminders_template_event_list_wins(default: CycleTemplate) -> None:
    conference = default.events["annual_conference"]
    assert conference.reminders == (10, 5, 1)
    assert reminder_offsets(conference, [3, 2], [14, 7, 1, 0]) == (10, 5, 1)
    assert reminder_offsets(conference, None, [14, 7, 1, 0]) == (10, 5, 1)


def test_reminders_council_list_beats_the_default(default: CycleTemplate) -> None:
    targets = default.events["targets"]
    assert targets.reminders is None
    assert reminder_offsets(targets, [3, 2], [14, 7, 1, 0]) == (3, 2)


def test_reminders_default_when_neither_is_set(default: CycleTemplate) -> None:
    assert reminder_offsets(default.events["targets"], None, [14, 7, 1, 0]) == (14, 7, 1, 0)


def test_reminders_sorted_descending_and_deduplicated() -> None:
    t = template(
        event("own", fixed(4, 15), reminders=[1, 5, 1, 0, 5, 10]),
        event("plain", fixed(4, 16)),
    )
    assert reminder_offsets(t.events["own"], None, [2]) == (10, 5, 1, 0)
    assert reminder_offsets(t.events["plain"], [0, 7, 7, 3], [2]) == (7, 3, 0)
    assert reminder_offsets(t.events["plain"], None, [1, 14, 7, 14, 0]) == (14, 7, 1, 0)


def test_reminders_explicit_empty_lists_mean_no_reminders() -> None:
    t = template(event("quiet", fixed(4, 15), reminders=[]), event("plain", fixed(4, 16)))
    assert reminder_offsets(t.events["quiet"], [3], [14, 7]) == ()
    assert reminder_offsets(t.events["plain"], [], [14, 7]) == ()
