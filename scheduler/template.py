"""Cycle templates: the TOML description of a council system's yearly rhythm.

A template lists events; each has a date rule. Parsing validates the rules, the
references between events and the absence of dependency cycles, so the engine
can assume a well-formed template.
"""

from __future__ import annotations

import tomllib
from calendar import monthrange
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scheduler.errors import TemplateError
from scheduler.model import Adjust, CouncilKind, EventType, Owner
from scheduler.planner import Audience

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def index(self) -> int:
        return list(Weekday).index(self)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def depends_on(self) -> str | None:
        return None


def _check_month_day(month: int, day: int) -> None:
    # February is checked against a common year: a fixed 29 February would vanish in
    # three years out of four, so templates must say "last working day before 03-01".
    days = 28 if month == 2 else monthrange(2001, month)[1]
    if not 1 <= day <= days:
        raise ValueError(f"day {day} does not exist in month {month} every year (1–{days})")


class FixedRule(_Rule):
    """A fixed month and day, e.g. 15 April."""

    kind: Literal["fixed"]
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _valid_day(self) -> FixedRule:
        _check_month_day(self.month, self.day)
        return self


class NthWeekdayRule(_Rule):
    """The n-th weekday of a month (n = -1 for the last), e.g. the second Thursday of March."""

    kind: Literal["nth_weekday"]
    month: int = Field(ge=1, le=12)
    weekday: Weekday
    n: Literal[1, 2, 3, 4, -1]


class OffsetRule(_Rule):
    """So many days, weeks or working days before or after another event."""

    kind: Literal["offset"]
    from_: str = Field(alias="from", pattern=KEY_PATTERN)
    amount: int = Field(ge=0, le=400)
    unit: Literal["days", "weeks", "working_days"]
    direction: Literal["before", "after"]

    def depends_on(self) -> str | None:
        return self.from_


class LastWorkingDayBeforeRule(_Rule):
    """The last working day strictly before a month-day (or before another event)."""

    kind: Literal["last_working_day_before"]
    month: int | None = Field(default=None, ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)
    from_: str | None = Field(default=None, alias="from", pattern=KEY_PATTERN)

    @model_validator(mode="after")
    def _one_anchor(self) -> LastWorkingDayBeforeRule:
        has_date = self.month is not None or self.day is not None
        if has_date and self.from_ is not None:
            raise ValueError("give either month and day, or from (another event), not both")
        if not has_date and self.from_ is None:
            raise ValueError("give month and day, or from (another event)")
        if has_date:
            if self.month is None or self.day is None:
                raise ValueError("give both month and day")
            _check_month_day(self.month, self.day)
        return self

    def depends_on(self) -> str | None:
        return self.from_


Rule = Annotated[
    FixedRule | NthWeekdayRule | OffsetRule | LastWorkingDayBeforeRule,
    Field(discriminator="kind"),
]


class TemplateEvent(BaseModel):
    """One event of the yearly rhythm, as the template describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN)
    title_da: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    description_da: str = ""
    description_en: str = ""
    owner: Owner
    applies_to: tuple[CouncilKind, ...] = Field(min_length=1)
    type: EventType = EventType.DEADLINE
    rule: Rule
    adjust: Adjust = Adjust.PREVIOUS
    #: Working days before the date at which to remind; None means the configured default.
    reminders: tuple[Annotated[int, Field(ge=0, le=250)], ...] | None = None
    #: Who is reminded; None means the default for the event's type.
    notify: tuple[Audience, ...] | None = None

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_da

    def applies(self, kind: CouncilKind) -> bool:
        return kind in self.applies_to


class _TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name_da: str
    name_en: str
    description: str = ""
    events: list[TemplateEvent] = Field(min_length=1)


@dataclass(frozen=True)
class CycleTemplate:
    """A validated template; ``order`` lists event keys so that anchors come first."""

    key: str
    name_da: str
    name_en: str
    events: dict[str, TemplateEvent]
    order: tuple[str, ...]
    source: str

    def dependents(self, key: str) -> set[str]:
        """Every event whose date is derived, directly or not, from ``key``."""
        found: set[str] = set()
        frontier = [key]
        while frontier:
            current = frontier.pop()
            for other in self.events.values():
                if other.rule.depends_on() == current and other.key not in found:
                    found.add(other.key)
                    frontier.append(other.key)
        return found


def _format_loc(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Turn pydantic's ('events', 3, 'rule', 'month') into "event 'x': rule.month"."""
    if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int):
        events = raw.get("events") or []
        name = f"#{loc[1] + 1}"
        if loc[1] < len(events) and isinstance(events[loc[1]], dict) and "key" in events[loc[1]]:
            name = repr(events[loc[1]]["key"])
        # Drop the discriminator tag pydantic puts into union locations.
        rest = [str(p) for p in loc[2:] if not (isinstance(p, str) and p in _RULE_KINDS)]
        return f"event {name}" + (f": {'.'.join(rest)}" if rest else "")
    return ".".join(str(p) for p in loc) or "(top level)"


_RULE_KINDS = {"fixed", "nth_weekday", "offset", "last_working_day_before"}


def parse_template(text: str, source: str = "<template>") -> CycleTemplate:
    """Parse and validate a template from TOML text.

    Raises:
        TemplateError: naming ``source`` and what is wrong (key, event, cycle).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{source}: not valid TOML: {exc}") from None
    try:
        parsed = _TemplateFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_format_loc(raw, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise TemplateError(f"{source}: " + "; ".join(problems)) from None

    events: dict[str, TemplateEvent] = {}
    for event in parsed.events:
        if event.key in events:
            raise TemplateError(f"{source}: event key {event.key!r} is used twice")
        events[event.key] = event

    for event in events.values():
        ref = event.rule.depends_on()
        if ref is not None and ref not in events:
            raise TemplateError(f"{source}: event {event.key!r} refers to unknown event {ref!r}")

    order = _topological_order(events, source)
    return CycleTemplate(
        key=parsed.key,
        name_da=parsed.name_da,
        name_en=parsed.name_en,
        events=events,
        order=order,
        source=source,
    )


def _topological_order(events: dict[str, TemplateEvent], source: str) -> tuple[str, ...]:
    order: list[str] = []
    state: dict[str, str] = {}  # key -> "visiting" | "done"
    for start in events:
        path: list[str] = []
        key: str | None = start
        # Each event has at most one anchor, so the graph is a forest of chains:
        # walk the chain iteratively and detect a repeat on the current path.
        while key is not None and state.get(key) != "done":
            if state.get(key) == "visiting":
                loop = [*path[path.index(key) :], key]
                raise TemplateError(f"{source}: dependency cycle: {' → '.join(loop)}")
            state[key] = "visiting"
            path.append(key)
            key = events[key].rule.depends_on()
        for visited in reversed(path):
            state[visited] = "done"
            order.append(visited)
    return tuple(order)


def load_template(name_or_path: str) -> CycleTemplate:
    """Load a shipped template by name (``default``) or a template file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read template {path}: {exc.strerror}") from None
        return parse_template(text, str(path))
    resource = resources.files("scheduler") / "templates" / f"{name_or_path}.toml"
    if not resource.is_file():
        shipped = sorted(
            p.name.removesuffix(".toml")
            for p in (resources.files("scheduler") / "templates").iterdir()
            if p.name.endswith(".toml")
        )
        raise TemplateError(
            f"unknown template {name_or_path!r}: give a path to a .toml file "
            f"or one of the shipped templates: {', '.join(shipped)}"
        )
    return parse_template(resource.read_text(encoding="utf-8"), f"template:{name_or_path}")
