"""Property tests of the cycle engine over the years 2000–2100, and time-zone independence."""

from __future__ import annotations

import calendar as stdlib_calendar
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.cycle import compute_cycle
from scheduler.model import Adjust, CouncilKind
from scheduler.template import (
    CycleTemplate,
    FixedRule,
    LastWorkingDayBeforeRule,
    NthWeekdayRule,
    OffsetRule,
    Weekday,
    load_template,
    parse_template,
)
from scheduler.workdays import NAMED_CLOSED_DAYS, WorkingCalendar
from tests.template_text import event_table

DEFAULT = load_template("default")
YEARS = st.integers(min_value=2000, max_value=2100)
KINDS = st.sampled_from(list(CouncilKind))
PROPERTY = settings(max_examples=200, deadline=None)


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    """Any choice of named closed days, plus up to four local closed days every year."""
    names = draw(st.lists(st.sampled_from(sorted(NAMED_CLOSED_DAYS)), unique=True))
    local = draw(
        st.lists(st.builds(_month_day, st.integers(1, 12), st.integers(1, 31)), max_size=4)
    )
    extra = [date(year, m, d) for year in range(1999, 2103) for m, d in local]
    return WorkingCalendar(closed_days=names, extra_closed=extra)


def _month_day(month: int, day: int) -> tuple[int, int]:
    last = 28 if month == 2 else stdlib_calendar.monthrange(2001, month)[1]
    return month, min(day, last)


def _oracle_nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    weeks = stdlib_calendar.Calendar().monthdatescalendar(year, month)
    days = [w[weekday] for w in weeks if w[weekday].month == month]
    return days[-1] if n == -1 else days[n - 1]


def _check_rule(
    template: CycleTemplate, key: str, year: int, cal: WorkingCalendar, got: dict[str, date]
) -> None:
    """Assert that ``got[key]`` is what the event's rule says, derived independently."""
    ev = template.events[key]
    rule, actual = ev.rule, got[key]
    if isinstance(rule, FixedRule):
        assert actual == cal.adjust(date(year, rule.month, rule.day), ev.adjust)
    elif isinstance(rule, NthWeekdayRule):
        raw = _oracle_nth_weekday(year, rule.month, rule.weekday.index, rule.n)
        assert actual == cal.adjust(raw, ev.adjust)
    elif isinstance(rule, OffsetRule):
        anchor = got[rule.from_]
        sign = 1 if rule.direction == "after" else -1
        if rule.unit == "working_days" and rule.amount == 0:
            assert actual == cal.adjust(anchor, ev.adjust)
        elif rule.unit == "working_days":
            assert cal.shift_working_days(anchor, sign * rule.amount) == actual
            assert cal.working_days_between(anchor, actual) == sign * rule.amount
        else:
            days = rule.amount * (7 if rule.unit == "weeks" else 1)
            assert actual == cal.adjust(anchor + timedelta(days=sign * days), ev.adjust)
    elif isinstance(rule, LastWorkingDayBeforeRule):
        if rule.from_ is not None:
            anchor = got[rule.from_]
        else:
            assert rule.month is not None and rule.day is not None
            anchor = date(year, rule.month, rule.day)
        assert actual < anchor
        assert cal.is_working_day(actual)
        gap = (anchor - actual).days
        assert not any(cal.is_working_day(actual + timedelta(days=i)) for i in range(1, gap))
    else:  # pragma: no cover
        raise AssertionError(f"unexpected rule {rule!r}")


# --- (a) the default template only ever gives working days -------------------------------


@PROPERTY
@given(year=YEARS, cal=calendars())
def test_default_template_dates_are_working_days(year: int, cal: WorkingCalendar) -> None:
    for kind in CouncilKind:
        result = compute_cycle(DEFAULT, year, cal, kind=kind)
        assert result, (year, kind)
        for dated in result:
            assert cal.is_working_day(dated.date), (year, kind, dated.key, dated.date)


@PROPERTY
@given(year=YEARS)
def test_default_template_dates_are_working_days_default_calendar(year: int) -> None:
    cal = WorkingCalendar()
    everything = compute_cycle(DEFAULT, year, cal)
    assert {e.key for e in everything} == set(DEFAULT.events)
    for dated in everything:
        assert cal.is_working_day(dated.date), (year, dated.key, dated.date)
        assert cal.closed_reason(dated.date) is None


# --- (b) every rule of the default template holds exactly --------------------------------


@PROPERTY
@given(year=YEARS, cal=calendars(), kind=KINDS)
def test_default_template_rules_hold_exactly(
    year: int, cal: WorkingCalendar, kind: CouncilKind
) -> None:
    got = {e.key: e.date for e in compute_cycle(DEFAULT, year, cal)}
    for key in DEFAULT.events:
        _check_rule(DEFAULT, key, year, cal, got)
    # The per-kind view gives the same dates for the events it keeps.
    for dated in compute_cycle(DEFAULT, year, cal, kind=kind):
        assert dated.date == got[dated.key]


@PROPERTY
@given(year=YEARS)
def test_default_template_domain_windows(year: int) -> None:
    """The dates stay in the windows the ministry's rhythm gives them (the template's
    comments and the README's "What it is")."""
    got = {e.key: e.date for e in compute_cycle(DEFAULT, year, WorkingCalendar())}
    assert got["analysis_report"].month == 2 and got["analysis_report"].day >= 21
    assert date(year, 4, 8) <= got["targets"] <= date(year, 4, 15)
    assert got["ber_recommendation"] < got["targets"] < got["plan_seminar"]
    assert got["result_review_hearing"] < got["result_review_published"] <= date(year, 6, 30)
    assert got["business_plan"] < got["employment_plan_hearing"] < got["region_comments"]
    assert got["employment_plan_hearing"].month == 8
    assert date(year, 12, 20) <= got["employment_plan_adopted"] <= date(year, 12, 30)


# --- (c) random valid templates ----------------------------------------------------------


def _month_days(draw: st.DrawFn) -> tuple[int, int]:
    return _month_day(draw(st.integers(1, 12)), draw(st.integers(1, 31)))


@st.composite
def template_texts(draw: st.DrawFn) -> str:
    """A valid template: absolute rules and chains of relative ones, in a shuffled file."""
    count = draw(st.integers(1, 10))
    events: list[dict[str, Any]] = []
    for i in range(count):
        kinds = ["fixed", "nth_weekday", "lwdb_date"]
        if i:
            kinds += ["offset", "offset", "lwdb_from"]  # favour chains
        kind = draw(st.sampled_from(kinds))
        # Prefer the previous event as anchor, so chains get long.
        anchor = f"e{draw(st.one_of(st.just(i - 1), st.integers(0, max(i - 1, 0))))}"
        rule: dict[str, Any]
        if kind == "fixed":
            month, day = _month_days(draw)
            rule = {"kind": "fixed", "month": month, "day": day}
        elif kind == "nth_weekday":
            rule = {
                "kind": "nth_weekday",
                "month": draw(st.integers(1, 12)),
                "weekday": draw(st.sampled_from([w.value for w in Weekday])),
                "n": draw(st.sampled_from([1, 2, 3, 4, -1])),
            }
        elif kind == "lwdb_date":
            month, day = _month_days(draw)
            rule = {"kind": "last_working_day_before", "month": month, "day": day}
        elif kind == "lwdb_from":
            rule = {"kind": "last_working_day_before", "from": anchor}
        else:
            unit = draw(st.sampled_from(["days", "weeks", "working_days"]))
            low, high = {"days": (0, 60), "weeks": (0, 10), "working_days": (0, 40)}[unit]
            rule = {
                "kind": "offset",
                "from": anchor,
                "amount": draw(st.integers(low, high)),
                "unit": unit,
                "direction": draw(st.sampled_from(["before", "after"])),
            }
        events.append(
            {
                "key": f"e{i}",
                "title_da": f"Begivenhed {i}",
                "title_en": f"Event {i}",
                "owner": draw(st.sampled_from(["ministry", "BER", "RBR", "LBR", "jobcentre"])),
                "applies_to": draw(
                    st.lists(st.sampled_from(["BER", "RBR", "LBR"]), min_size=1, unique=True)
                ),
                "rule": rule,
                "adjust": draw(st.sampled_from([a.value for a in Adjust])),
            }
        )
    shuffled = draw(st.permutations(events))
    body = "\n".join(event_table(ev) for ev in shuffled)
    return f'key = "random"\nname_da = "Tilfældig"\nname_en = "Random"\n\n{body}'


@PROPERTY
@given(text=template_texts(), year=YEARS, cal=calendars(), kind=st.none() | KINDS)
def test_random_templates_give_working_days_unless_adjust_none(
    text: str, year: int, cal: WorkingCalendar, kind: CouncilKind | None
) -> None:
    template = parse_template(text, "random.toml")
    result = compute_cycle(template, year, cal, kind=kind)
    expected_keys = {k for k, ev in template.events.items() if kind is None or ev.applies(kind)}
    assert {e.key for e in result} == expected_keys
    for dated in result:
        if dated.event.adjust is not Adjust.NONE:
            assert cal.is_working_day(dated.date), (dated.key, dated.date, dated.event.rule)


@PROPERTY
@given(text=template_texts(), year=YEARS, cal=calendars())
def test_random_templates_rules_hold_exactly(text: str, year: int, cal: WorkingCalendar) -> None:
    template = parse_template(text, "random.toml")
    result = compute_cycle(template, year, cal)
    got = {e.key: e.date for e in result}
    for key in template.events:
        _check_rule(template, key, year, cal, got)
    assert [e.date for e in result] == sorted(got.values())


@PROPERTY
@given(text=template_texts())
def test_random_templates_order_puts_anchors_first(text: str) -> None:
    template = parse_template(text, "random.toml")
    assert sorted(template.order) == sorted(template.events)
    position = {key: i for i, key in enumerate(template.order)}
    for ev in template.events.values():
        anchor = ev.rule.depends_on()
        if anchor is not None:
            assert position[anchor] < position[ev.key]
            assert ev.key in template.dependents(anchor)


@PROPERTY
@given(text=template_texts(), year=YEARS, data=st.data())
def test_random_overrides_move_exactly_the_dependents(
    text: str, year: int, data: st.DataObject
) -> None:
    template = parse_template(text, "random.toml")
    cal = WorkingCalendar()
    base = {e.key: e.date for e in compute_cycle(template, year, cal)}
    moved_keys = data.draw(st.lists(st.sampled_from(sorted(template.events)), unique=True))
    overrides = {
        key: data.draw(st.dates(min_value=date(year, 1, 1), max_value=date(year, 12, 31)))
        for key in moved_keys
    }
    result = compute_cycle(template, year, cal, overrides=overrides)
    got = {e.key: e.date for e in result}
    followers = set().union(*(template.dependents(k) for k in overrides))
    for dated in result:
        key = dated.key
        assert dated.computed == base[key]  # the template's date, whatever was moved
        assert dated.overridden == (key in overrides)
        if key in overrides:
            assert dated.date == overrides[key]
        elif key not in followers:
            assert dated.date == base[key]
        elif template.events[key].adjust is not Adjust.NONE:
            assert cal.is_working_day(dated.date)
    for key in template.events:
        if key not in overrides and key in followers:
            rule = template.events[key].rule
            anchor = rule.depends_on()
            assert anchor is not None
            if not (
                isinstance(rule, OffsetRule)
                and rule.unit == "working_days"
                and rule.direction == "before"
                and rule.amount > 0
                and not cal.is_working_day(got[anchor])
            ):
                _check_rule(template, key, year, cal, got)


# --- (d) the machine's time zone does not matter -----------------------------------------

_DUMP = textwrap.dedent(
    """
    import time
    from scheduler.cycle import compute_cycle
    from scheduler.model import CouncilKind
    from scheduler.template import load_template
    from scheduler.workdays import WorkingCalendar

    # First line: proof that the zone took effect (the local time of the epoch).
    print(time.strftime("%Y-%m-%d %H:%M %z", time.localtime(0)))
    template, cal = load_template("default"), WorkingCalendar()
    for year in range(2000, 2101):
        for kind in CouncilKind:
            for e in compute_cycle(template, year, cal, kind=kind):
                print(year, kind.value, e.key, e.date.isoformat(), e.computed.isoformat())
    """
)

ZONES = ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Europe/Copenhagen"]


@pytest.mark.slow
def test_dates_do_not_depend_on_the_machine_time_zone(tmp_path: Any) -> None:
    outputs: dict[str, list[str]] = {}
    for zone in ZONES:
        env = {**os.environ, "TZ": zone}
        done = subprocess.run(
            [sys.executable, "-c", _DUMP],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs[zone] = done.stdout.splitlines()
    headers = {zone: lines[0] for zone, lines in outputs.items()}
    # The zones really differ (otherwise the comparison below proves nothing).
    assert headers["UTC"] == "1970-01-01 00:00 +0000"
    assert headers["Pacific/Auckland"].startswith("1970-01-01 12:00")
    assert headers["America/Los_Angeles"].startswith("1969-12-31 16:00")
    bodies = {zone: lines[1:] for zone, lines in outputs.items()}
    reference = bodies["UTC"]
    expected_lines = sum(
        len(compute_cycle(DEFAULT, year, WorkingCalendar(), kind=kind))
        for year in range(2000, 2101)
        for kind in CouncilKind
    )
    assert len(reference) == expected_lines > 101 * 3
    for zone, body in bodies.items():
        assert body == reference, zone


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")
def test_dates_do_not_depend_on_the_process_time_zone_in_process() -> None:
    from scheduler import workdays

    def dump() -> list[tuple[int, str, str, date]]:
        workdays._public_holidays.cache_clear()  # recompute the holidays in this zone
        cal = WorkingCalendar()
        return [
            (year, kind.value, e.key, e.date)
            for year in (2000, 2023, 2024, 2027, 2100)
            for kind in CouncilKind
            for e in compute_cycle(DEFAULT, year, cal, kind=kind)
        ]

    saved = os.environ.get("TZ")
    results: dict[str, list[tuple[int, str, str, date]]] = {}
    offsets: dict[str, str] = {}
    try:
        for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
            os.environ["TZ"] = zone
            time.tzset()
            offsets[zone] = time.strftime("%z", time.localtime(1_800_000_000))
            results[zone] = dump()
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()
        workdays._public_holidays.cache_clear()
    assert offsets == {"UTC": "+0000", "Pacific/Kiritimati": "+1400", "Pacific/Pago_Pago": "-1100"}
    assert results["UTC"]
    assert results["Pacific/Kiritimati"] == results["UTC"]
    assert results["Pacific/Pago_Pago"] == results["UTC"]
