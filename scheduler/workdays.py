"""Which days are working days in Denmark, and arithmetic over them.

Public holidays come from the ``holidays`` package (pure computation, no I/O).
Days that are not public holidays but on which most offices close (Constitution
Day, Christmas Eve, New Year's Eve; optionally Labour Day) are configurable.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from scheduler.errors import InputError
from scheduler.model import Adjust

#: Closed days that are not public holidays, by the name used in config.toml.
NAMED_CLOSED_DAYS: dict[str, tuple[int, int]] = {
    "constitution_day": (6, 5),
    "christmas_eve": (12, 24),
    "new_years_eve": (12, 31),
    "labour_day": (5, 1),
}

#: Most Danish public offices close on these, so deadlines avoid them (configurable as
#: ``[calendar] closed_days``; see the README).
DEFAULT_CLOSED_DAYS: tuple[str, ...] = ("constitution_day", "christmas_eve", "new_years_eve")


@cache
def _denmark() -> Any:
    """The ``holidays`` package's Denmark class, loaded from its own module.

    ``holidays.Denmark`` goes through the package's registry, whose first use imports
    ``holidays.countries`` and with it all ~280 countries: 0.15-0.3 s that every
    command dating anything paid (``remind plan``, ``cycle move``). The Danish module
    alone is the same code and takes a few milliseconds. Imported on first use, so
    ``aarshjul --help`` pays nothing; any surprise (another package layout) falls back
    to the registry.
    """
    import holidays

    name = "holidays.countries.denmark"
    if name in sys.modules:
        return sys.modules[name].Denmark
    try:
        path = Path(holidays.__file__).parent / "countries" / "denmark.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module.Denmark
    except Exception:  # any failure: the package's own (slower) way
        sys.modules.pop(name, None)
        return holidays.Denmark


@lru_cache(maxsize=512)
def _public_holidays(year: int, language: str) -> dict[date, str]:
    return dict(_denmark()(years=year, language=language).items())


def public_holiday_name(day: date, language: str) -> str | None:
    """The holiday's name as the ``holidays`` package gives it (``da``, else English)."""
    return _public_holidays(day.year, "en_US" if language == "en" else "da").get(day)


@dataclass(frozen=True)
class ClosedReason:
    """Why a day is closed, in words for nobody: the interface layer says it.

    ``kind`` is ``holiday`` (a public holiday), ``named`` (a configured closed day;
    ``name`` is its key, e.g. ``constitution_day``) or ``extra`` (a configured date).
    """

    kind: Literal["holiday", "named", "extra"]
    name: str | None = None


class WorkingCalendar:
    """Monday–Friday minus Danish public holidays and the configured closed days.

    Args:
        closed_days: names from :data:`NAMED_CLOSED_DAYS` to treat as closed.
        extra_closed: further dates that are closed (a local office holiday, say).
    """

    def __init__(
        self,
        closed_days: Iterable[str] = DEFAULT_CLOSED_DAYS,
        extra_closed: Iterable[date] = (),
    ) -> None:
        names = tuple(closed_days)
        unknown = sorted(set(names) - NAMED_CLOSED_DAYS.keys())
        if unknown:
            raise InputError(
                f"unknown closed day(s): {', '.join(unknown)}; "
                f"expected some of: {', '.join(NAMED_CLOSED_DAYS)}"
            )
        self.closed_day_names = names
        self._fixed = {NAMED_CLOSED_DAYS[n]: n for n in names}
        self._extra = frozenset(extra_closed)
        self._closed_by_year: dict[int, frozenset[date]] = {}

    def _closed(self, year: int) -> frozenset[date]:
        """Every closed weekday-or-not date of ``year`` besides weekends, built once."""
        closed = self._closed_by_year.get(year)
        if closed is None:
            closed = frozenset(
                {d for d in _public_holidays(year, "da")}
                | {date(year, m, d) for m, d in self._fixed}
                | {d for d in self._extra if d.year == year}
            )
            self._closed_by_year[year] = closed
        return closed

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._closed(day.year)

    def closed_reason(self, day: date) -> ClosedReason | None:
        """Why ``day`` is closed; None for a working day or a plain weekend day."""
        # A public holiday wins (5 June 2017 was also Whit Monday).
        if day in _public_holidays(day.year, "da"):
            return ClosedReason("holiday")
        named = self._fixed.get((day.month, day.day))
        if named:
            return ClosedReason("named", named)
        if day in self._extra:
            return ClosedReason("extra")
        return None

    def previous_working_day(self, day: date, *, inclusive: bool = True) -> date:
        """The latest working day on or before ``day`` (strictly before if not inclusive)."""
        if not inclusive:
            day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def next_working_day(self, day: date, *, inclusive: bool = True) -> date:
        """The earliest working day on or after ``day`` (strictly after if not inclusive)."""
        if not inclusive:
            day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def adjust(self, day: date, how: Adjust) -> date:
        if how is Adjust.PREVIOUS:
            return self.previous_working_day(day)
        if how is Adjust.NEXT:
            return self.next_working_day(day)
        return day

    def shift_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (before it when negative).

        ``day`` itself is never counted, so shifting a Monday by -1 gives the Friday
        before it; a shift of 0 returns ``day`` unchanged.
        """
        step = timedelta(days=1 if count > 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The ``n`` with ``shift_working_days(start, n) == end`` when ``end`` is a working day.

        Forward it counts the working days in (start, end]; backward, minus those in
        [end, start).
        """
        count, day = 0, start
        if end >= start:
            while day < end:
                day += timedelta(days=1)
                count += self.is_working_day(day)
            return count
        while day > end:
            day -= timedelta(days=1)
            count += self.is_working_day(day)
        return -count
