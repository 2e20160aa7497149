"""Cycle templates: the shipped default, validation errors and the dependency order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scheduler.errors import TemplateError
from scheduler.model import Adjust, CouncilKind, EventType, Owner
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
from tests.template_text import event

SOURCE = "councils/custom.toml"


def template(*events: str, header: str = "") -> str:
    return f'key = "t"\nname_da = "T da"\nname_en = "T en"\n{header}\n' + "\n".join(events)


def fixed(month: int = 4, day: int = 15) -> dict[str, Any]:
    return {"kind": "fixed", "month": month, "day": day}


def offset(
    anchor: str, amount: int = 1, unit: str = "days", direction: str = "after"
) -> dict[str, Any]:
    return {
        "kind": "offset",
        "from": anchor,
        "amount": amount,
        "unit": unit,
        "direction": direction,
    }


def parse_error(text: str) -> str:
    with pytest.raises(TemplateError) as info:
        parse_template(text, SOURCE)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: "), message
    return message


# --- the shipped default template --------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> CycleTemplate:
    return load_template("default")


DEFAULT_KEYS = {
    "analysis_report",
    "annual_conference",
    "ber_recommendation",
    "targets",
    "plan_seminar",
    "result_review_hearing",
    "result_review_published",
    "business_plan",
    "employment_plan_hearing",
    "region_comments",
    "minister_meeting",
    "employment_plan_adopted",
    "contract",
}


def test_default_template_loads_by_name(default: CycleTemplate) -> None:
    assert default.key == "dk-employment-2007"
    assert default.source == "template:default"
    assert default.name_da and default.name_en


def test_default_template_has_the_domain_events(default: CycleTemplate) -> None:
    assert set(default.events) == DEFAULT_KEYS
    assert sorted(default.order) == sorted(DEFAULT_KEYS)


def test_default_template_events_have_both_titles(default: CycleTemplate) -> None:
    for ev in default.events.values():
        assert ev.title_da.strip() and ev.title_en.strip(), ev.key
        assert ev.title_da != ev.title_en, ev.key
        assert ev.title("da") == ev.title_da
        assert ev.title("en") == ev.title_en


def test_default_template_event_types(default: CycleTemplate) -> None:
    types = {key: ev.type for key, ev in default.events.items()}
    hearings = {k for k, t in types.items() if t is EventType.HEARING}
    meetings = {k for k, t in types.items() if t is EventType.MEETING}
    assert hearings == {"result_review_hearing", "employment_plan_hearing"}
    assert meetings == {"annual_conference", "plan_seminar", "minister_meeting"}
    assert all(t is EventType.DEADLINE for k, t in types.items() if k not in hearings | meetings)


def test_default_template_owners_and_councils(default: CycleTemplate) -> None:
    ev = default.events
    assert ev["analysis_report"].owner is Owner.RBR
    assert ev["targets"].owner is Owner.MINISTRY
    assert ev["contract"].owner is Owner.MINISTRY
    assert ev["plan_seminar"].owner is Owner.JOBCENTRE
    assert ev["employment_plan_hearing"].owner is Owner.LBR
    assert set(ev["analysis_report"].applies_to) == set(CouncilKind)
    assert set(ev["targets"].applies_to) == set(CouncilKind)
    assert ev["contract"].applies_to == (CouncilKind.RBR,)
    assert ev["ber_recommendation"].applies_to == (CouncilKind.BER,)
    for key in ("plan_seminar", "result_review_hearing", "employment_plan_hearing"):
        assert ev[key].applies_to == (CouncilKind.LBR,), key


def test_default_template_rules_follow_the_domain_defaults(default: CycleTemplate) -> None:
    ev = default.events
    assert ev["targets"].rule == FixedRule(kind="fixed", month=4, day=15)
    assert ev["analysis_report"].rule == LastWorkingDayBeforeRule(
        kind="last_working_day_before", month=3, day=1
    )
    conference = ev["annual_conference"].rule
    assert isinstance(conference, NthWeekdayRule)
    assert (conference.month, conference.weekday, conference.n) == (3, Weekday.THURSDAY, 2)
    seminar = ev["plan_seminar"].rule
    assert isinstance(seminar, OffsetRule)
    assert (seminar.from_, seminar.amount, seminar.unit, seminar.direction) == (
        "targets",
        6,
        "weeks",
        "after",
    )
    assert ev["employment_plan_adopted"].rule == FixedRule(kind="fixed", month=12, day=31)
    assert ev["result_review_published"].rule == FixedRule(kind="fixed", month=6, day=30)
    # A deadline never stays on a closed day in the shipped template.
    assert all(e.adjust is not Adjust.NONE for e in default.events.values())


def test_default_template_dependents(default: CycleTemplate) -> None:
    assert default.dependents("targets") == {"ber_recommendation", "plan_seminar"}
    assert default.dependents("employment_plan_hearing") == {"business_plan", "region_comments"}
    assert default.dependents("result_review_published") == {"result_review_hearing"}
    assert default.dependents("contract") == set()


def test_default_template_order_puts_anchors_first(default: CycleTemplate) -> None:
    position = {key: i for i, key in enumerate(default.order)}
    for ev in default.events.values():
        anchor = ev.rule.depends_on()
        if anchor is not None:
            assert position[anchor] < position[ev.key], ev.key
    # ber_recommendation is listed before its anchor in the file.
    assert position["targets"] < position["ber_recommendation"]


# --- a valid hand-written template -------------------------------------------------------


def test_parse_a_small_template_with_all_rule_kinds() -> None:
    text = template(
        event("a", fixed(1, 31), adjust="none", reminders=[3, 1], type="meeting"),
        event("b", {"kind": "nth_weekday", "month": 12, "weekday": "friday", "n": -1}),
        event("c", offset("a", 2, "working_days", "before"), applies_to=["RBR"]),
        event("d", {"kind": "last_working_day_before", "from": "c"}, owner="ministry"),
        event("e", {"kind": "last_working_day_before", "month": 3, "day": 1}),
    )
    parsed = parse_template(text, SOURCE)
    assert parsed.source == SOURCE
    assert list(parsed.events) == ["a", "b", "c", "d", "e"]
    a = parsed.events["a"]
    assert a.adjust is Adjust.NONE
    assert a.reminders == (3, 1)
    assert a.type is EventType.MEETING
    assert parsed.events["b"].adjust is Adjust.PREVIOUS  # the default
    assert parsed.events["b"].reminders is None
    assert parsed.events["b"].type is EventType.DEADLINE
    assert parsed.events["c"].applies(CouncilKind.RBR)
    assert not parsed.events["c"].applies(CouncilKind.LBR)
    assert parsed.events["d"].rule.depends_on() == "c"
    assert parsed.events["e"].rule.depends_on() is None


def test_dependents_are_transitive() -> None:
    text = template(
        event("c", offset("b")),
        event("b", offset("a")),
        event("a", fixed()),
        event("d", {"kind": "last_working_day_before", "from": "a"}),
        event("e", fixed(5, 1)),
        event("f", offset("e")),
    )
    parsed = parse_template(text, SOURCE)
    assert parsed.dependents("a") == {"b", "c", "d"}
    assert parsed.dependents("b") == {"c"}
    assert parsed.dependents("c") == set()
    assert parsed.dependents("e") == {"f"}


def test_order_puts_anchors_before_dependents_whatever_the_file_order() -> None:
    text = template(
        event("d", offset("c")),
        event("c", offset("b")),
        event("b", offset("a")),
        event("a", fixed()),
        event("x", fixed(5, 1)),
    )
    parsed = parse_template(text, SOURCE)
    order = list(parsed.order)
    assert sorted(order) == ["a", "b", "c", "d", "x"]
    assert order.index("a") < order.index("b") < order.index("c") < order.index("d")


# --- errors ------------------------------------------------------------------------------


def test_dependency_cycle_names_every_event_in_it() -> None:
    message = parse_error(
        template(event("a", offset("b")), event("b", offset("a")), event("c", fixed()))
    )
    assert message == f"{SOURCE}: dependency cycle: a → b → a"


def test_longer_dependency_cycle_names_only_the_cycle() -> None:
    message = parse_error(
        template(
            event("x", offset("p")),  # hangs off the cycle but is not part of it
            event("p", offset("q")),
            event("q", offset("r")),
            event("r", offset("p")),
        )
    )
    assert "dependency cycle" in message
    loop = message.split("dependency cycle: ")[1]
    assert loop == "p → q → r → p"


def test_self_reference_is_a_cycle() -> None:
    message = parse_error(template(event("alone", offset("alone"))))
    assert message == f"{SOURCE}: dependency cycle: alone → alone"


def test_last_working_day_before_self_reference_is_a_cycle() -> None:
    message = parse_error(template(event("me", {"kind": "last_working_day_before", "from": "me"})))
    assert "dependency cycle: me → me" in message


def test_unknown_reference_names_the_event_and_the_key() -> None:
    message = parse_error(template(event("seminar", offset("tragets")), event("targets", fixed())))
    assert "'seminar'" in message
    assert "'tragets'" in message
    assert "unknown event" in message


def test_duplicate_key() -> None:
    message = parse_error(template(event("targets", fixed()), event("targets", fixed(5, 1))))
    assert "'targets'" in message
    assert "twice" in message


def test_invalidtoml_value() -> None:
    message = parse_error('key = "t"\n[[events]\n')
    assert "not valid TOML" in message
    assert "line 2" in message


@pytest.mark.parametrize(("month", "day"), [(2, 30), (2, 29), (4, 31), (6, 31)])
def test_fixed_rule_day_must_exist_every_year(month: int, day: int) -> None:
    message = parse_error(template(event("deadline", fixed(month, day))))
    assert "event 'deadline'" in message
    assert "rule" in message
    assert str(day) in message


def test_fixed_rule_day_32() -> None:
    message = parse_error(template(event("deadline", fixed(1, 32))))
    assert "event 'deadline': rule.day" in message


def test_fixed_rule_31_days_are_fine_where_they_exist() -> None:
    parsed = parse_template(template(event("a", fixed(12, 31)), event("b", fixed(2, 28))))
    assert set(parsed.events) == {"a", "b"}


def test_fixed_rule_month_13() -> None:
    message = parse_error(template(event("deadline", fixed(13, 1))))
    assert "event 'deadline': rule.month" in message


def test_last_working_day_before_29_february_is_refused() -> None:
    message = parse_error(
        template(event("leap", {"kind": "last_working_day_before", "month": 2, "day": 29}))
    )
    assert "event 'leap'" in message
    assert "29" in message


def test_nth_weekday_n_5() -> None:
    rule = {"kind": "nth_weekday", "month": 3, "weekday": "thursday", "n": 5}
    message = parse_error(template(event("conference", rule)))
    assert "event 'conference': rule.n" in message


def test_nth_weekday_unknown_weekday() -> None:
    rule = {"kind": "nth_weekday", "month": 3, "weekday": "thursdag", "n": 2}
    message = parse_error(template(event("conference", rule)))
    assert "event 'conference': rule.weekday" in message


def test_offset_unknown_unit() -> None:
    message = parse_error(
        template(event("anchor", fixed()), event("later", offset("anchor", 1, "months")))
    )
    assert "event 'later': rule.unit" in message
    assert "working_days" in message  # says what is allowed


def test_offset_unknown_direction_and_negative_amount() -> None:
    bad_direction = offset("anchor", 1, "days", "around")
    message = parse_error(template(event("anchor", fixed()), event("later", bad_direction)))
    assert "event 'later': rule.direction" in message
    message = parse_error(template(event("anchor", fixed()), event("later", offset("anchor", -1))))
    assert "event 'later': rule.amount" in message


def test_unknown_rule_kind() -> None:
    message = parse_error(template(event("odd", {"kind": "easter", "month": 1, "day": 1})))
    assert "event 'odd'" in message
    assert "easter" in message


def test_last_working_day_before_with_both_date_and_from() -> None:
    rule = {"kind": "last_working_day_before", "month": 9, "day": 1, "from": "anchor"}
    message = parse_error(template(event("anchor", fixed()), event("both", rule)))
    assert "event 'both'" in message
    assert "not both" in message


def test_last_working_day_before_with_half_a_date() -> None:
    rule = {"kind": "last_working_day_before", "month": 9}
    message = parse_error(template(event("half", rule)))
    assert "event 'half'" in message
    assert "month and day" in message


def test_unknown_owner() -> None:
    message = parse_error(template(event("a", fixed(), owner="mayor")))
    assert "event 'a': owner" in message
    assert "ministry" in message  # lists the valid owners


def test_unknown_council_kind_in_applies_to() -> None:
    message = parse_error(template(event("a", fixed(), applies_to=["LBR", "RAR"])))
    assert "event 'a': applies_to" in message


def test_empty_applies_to() -> None:
    message = parse_error(template(event("nobody", fixed(), applies_to=[])))
    assert "event 'nobody': applies_to" in message


def test_unknown_event_field() -> None:
    message = parse_error(template(event("a", fixed(), colour="red")))
    assert "event 'a': colour" in message
    assert "Extra inputs are not permitted" in message


def test_unknown_rule_field() -> None:
    message = parse_error(template(event("a", {**fixed(), "hour": 9})))
    assert "event 'a': rule.hour" in message


def test_unknown_top_level_field() -> None:
    message = parse_error(template(event("a", fixed()), header='colour = "red"'))
    assert "colour" in message
    assert "Extra inputs are not permitted" in message


def test_bad_event_key() -> None:
    message = parse_error(template(event("Bad Key", fixed())))
    assert "'Bad Key'" in message
    assert "key" in message


def test_template_without_events() -> None:
    message = parse_error(template())
    assert "events" in message


def test_several_problems_are_reported_together() -> None:
    message = parse_error(
        template(event("first", fixed(13, 1)), event("second", fixed(), owner="mayor"))
    )
    assert "event 'first': rule.month" in message
    assert "event 'second': owner" in message


def test_default_source_name() -> None:
    with pytest.raises(TemplateError, match=r"^<template>: not valid TOML"):
        parse_template("= broken")


# --- load_template -----------------------------------------------------------------------


def test_load_template_unknown_name_lists_the_shipped_templates() -> None:
    with pytest.raises(TemplateError) as info:
        load_template("no_such_template")
    message = str(info.value)
    assert "'no_such_template'" in message
    assert "shipped templates: default" in message


def test_load_template_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cycle.toml"
    with pytest.raises(TemplateError) as info:
        load_template(str(missing))
    message = str(info.value)
    assert str(missing) in message
    assert "cannot read template" in message
    assert "No such file" in message


def test_load_template_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(template(event("a", fixed()), event("b", offset("a"))), encoding="utf-8")
    loaded = load_template(str(path))
    assert loaded.source == str(path)
    assert set(loaded.events) == {"a", "b"}


def test_load_template_from_a_path_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(template(event("a", offset("zzz"))), encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_template(str(path))
    assert str(info.value).startswith(f"{path}: ")
    assert "'zzz'" in str(info.value)


def test_load_template_shipped_default_matches_the_file_in_the_package() -> None:
    path = Path(__file__).resolve().parents[1] / "scheduler" / "templates" / "default.toml"
    by_path = load_template(str(path))
    by_name = load_template("default")
    assert by_path.events == by_name.events
    assert by_path.order == by_name.order


def test_last_working_day_before_needs_an_anchor() -> None:
    message = parse_error(template(event("a", {"kind": "last_working_day_before"})))
    assert "give month and day, or from" in message and "'a'" in message


def test_negative_reminder_offsets_are_refused() -> None:
    message = parse_error(template(event("a", fixed(), reminders=[5, -1])))
    assert "'a'" in message and "reminders" in message
