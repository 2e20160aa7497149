"""The annual-cycle engine: template + year + working calendar -> dated events.

Pure: no I/O and no clock. The same inputs always give the same dates, whatever
the machine's time zone, because only ``datetime.date`` arithmetic is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.model import CouncilKind
from scheduler.template import (
    CycleTemplate,
    FixedRule,
    LastWorkingDayBeforeRule,
    NthWeekdayRule,
    OffsetRule,
    TemplateEvent,
)
from scheduler.workdays import WorkingCalendar


@dataclass(frozen=True)
class DatedEvent:
    """One event of one year with its date.

    ``computed`` is what the rule gives; ``date`` is what holds, which differs when
    the event itself was moved by hand (``overridden``) or its anchor was.
    """

    event: TemplateEvent
    date: date
    computed: date
    overridden: bool

    @property
    def key(self) -> str:
        return self.event.key


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` (0 = Monday) of a month; n = -1 gives the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _rule_date(
    event: TemplateEvent, year: int, calendar: WorkingCalendar, dates: Mapping[str, date]
) -> date:
    rule = event.rule
    if isinstance(rule, FixedRule):
        raw = date(year, rule.month, rule.day)
    elif isinstance(rule, NthWeekdayRule):
        raw = nth_weekday(year, rule.month, rule.weekday.index, rule.n)
    elif isinstance(rule, OffsetRule):
        anchor = dates[rule.from_]
        sign = 1 if rule.direction == "after" else -1
        if rule.unit == "working_days":
            # A non-zero shift always lands on a working day; a zero shift keeps the
            # anchor, which may be closed (adjust = none upstream): adjust it like any date.
            raw = calendar.shift_working_days(anchor, sign * rule.amount)
            return calendar.adjust(raw, event.adjust)
        days = rule.amount * (7 if rule.unit == "weeks" else 1)
        raw = anchor + timedelta(days=sign * days)
    elif isinstance(rule, LastWorkingDayBeforeRule):
        if rule.from_ is not None:
            anchor = dates[rule.from_]
        else:
            assert rule.month is not None and rule.day is not None
            anchor = date(year, rule.month, rule.day)
        return calendar.previous_working_day(anchor, inclusive=False)
    else:  # pragma: no cover - the template parser admits no other rule
        raise TypeError(f"unsupported rule {rule!r}")
    return calendar.adjust(raw, event.adjust)


def compute_cycle(
    template: CycleTemplate,
    year: int,
    calendar: WorkingCalendar,
    *,
    kind: CouncilKind | None = None,
    overrides: Mapping[str, date] | None = None,
) -> list[DatedEvent]:
    """Date every event of ``template`` for ``year``.

    Args:
        template: a validated template.
        year: the calendar year whose events to date.
        calendar: decides working days.
        kind: if given, keep only the events that apply to that kind of council
            (anchors are still computed, so an LBR event may hang off a ministry one).
        overrides: event key -> date set by hand; events derived from it follow.

    Returns:
        The events in date order (template order breaks ties).
    """
    overrides = overrides or {}
    natural: dict[str, date] = {}  # the template's dates, as if nothing had been moved
    actual: dict[str, date] = {}  # with the manual moves and what follows from them
    result: list[DatedEvent] = []
    for key in template.order:
        event = template.events[key]
        computed = _rule_date(event, year, calendar, natural)
        natural[key] = computed
        if key in overrides:
            actual[key] = overrides[key]
        elif overrides:
            actual[key] = _rule_date(event, year, calendar, actual)
        else:
            actual[key] = computed
        if kind is None or event.applies(kind):
            result.append(DatedEvent(event, actual[key], computed, key in overrides))
    position = {key: i for i, key in enumerate(template.events)}
    result.sort(key=lambda e: (e.date, position[e.key]))
    return result
