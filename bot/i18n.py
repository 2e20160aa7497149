"""The message catalogue: every text a person reads, in Danish and English.

All texts live in ``catalogue.toml`` beside this module, one table per message
with a ``da`` and an ``en`` entry, so a translation can never go missing without
the catalogue test noticing.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from scheduler.errors import AarshjulError
from scheduler.workdays import WorkingCalendar, public_holiday_name

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Flattened catalogue: ``{"cycle.show.title": {"da": ..., "en": ...}}``."""
    raw = tomllib.loads((resources.files("bot") / "catalogue.toml").read_text("utf-8"))
    flat: dict[str, dict[str, str]] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        if "da" in node and isinstance(node["da"], str):
            flat[prefix] = node
            return
        for name, child in node.items():
            walk(child, f"{prefix}.{name}" if prefix else name)

    walk(raw, "")
    return flat


class Phrase:
    """A catalogue text used as a parameter of another, said in the outer text's language.

    An error raised before the reader's language is known (a configuration error) carries
    its detail as a Phrase, so both its frame and its detail follow the reader.
    """

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params = params

    def render(self, language: str) -> str:
        return t(language, self.key, **self.params)

    def __str__(self) -> str:
        return self.render("en")


class MonthName(Phrase):
    """A month's name as a parameter, in the language the outer text is said in."""

    def __init__(self, month: int) -> None:
        super().__init__("calendar.months")
        self.month = month

    def render(self, language: str) -> str:
        return month_name(self.month, language)


def t(language: str, key: str, /, **params: object) -> str:
    """The text for ``key`` in ``language`` (Danish if unknown), with ``params`` filled in."""
    entry = catalogue()[key]
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    if not params:
        return text
    said = {k: v.render(language) if isinstance(v, Phrase) else v for k, v in params.items()}
    return text.format(**said)


def error_text(error: AarshjulError, language: str, surface: str | None = None) -> str:
    """An error as the reader should see it: from the catalogue when it has a key.

    ``surface`` (``"cli"`` or ``"slack"``) picks the variant ``KEY_cli`` / ``KEY_slack``
    when the catalogue has one, so a hint names the command the reader can type where
    they are (``aarshjul hearing status 12`` at the terminal, ``/hearing status 12`` in
    Slack).
    """
    if error.key and error.key in catalogue():
        variant = f"{error.key}_{surface}" if surface else ""
        key = variant if variant in catalogue() else error.key
        return t(language, key, **error.params)
    return str(error)


def user_error(cls: type[AarshjulError], key: str, /, **params: object) -> AarshjulError:
    """Build an error whose message comes from the catalogue (English in logs)."""
    return cls(t("en", key, **params), key=key, **params)


def weekday_name(day: date, language: str) -> str:
    return t(language, "calendar.weekdays").split(",")[day.weekday()]


def month_name(month: int, language: str) -> str:
    return t(language, "calendar.months").split(",")[month - 1]


def format_age(seconds: float, language: str) -> str:
    """How long ago, as a person says it: ``45 s``, ``12 min.``, ``3 timer og 5 min.``,
    ``6 dage og 4 timer`` (two units at most, the larger first)."""
    total = max(int(seconds), 0)
    if total < 60:
        return t(language, "duration.seconds", n=total)
    minutes, hours, days = total // 60 % 60, total // 3600 % 24, total // 86400

    def unit(n: int, one: str, many: str) -> str:
        return t(language, f"duration.{one}") if n == 1 else t(language, f"duration.{many}", n=n)

    if days:
        first, second = unit(days, "day_one", "days"), unit(hours, "hour_one", "hours")
        return t(language, "duration.and", first=first, second=second) if hours else first
    if hours:
        first = unit(hours, "hour_one", "hours")
        second = t(language, "duration.minutes", n=minutes)
        return t(language, "duration.and", first=first, second=second) if minutes else first
    return t(language, "duration.minutes", n=minutes)


def format_date(day: date, language: str, *, long: bool = False) -> str:
    """``15.04.2027`` / ``15 Apr 2027``; long: ``torsdag den 15. april 2027``."""
    if long:
        return t(
            language,
            "calendar.long_date",
            weekday=weekday_name(day, language),
            day=day.day,
            month=month_name(day.month, language),
            year=day.year,
        )
    if language == "en":
        return f"{day.day} {month_name(day.month, 'en')[:3]} {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def closed_day_text(calendar: WorkingCalendar, day: date, language: str) -> str | None:
    """Why ``day`` is closed, in words (None for a working day or a plain weekend day)."""
    reason = calendar.closed_reason(day)
    if reason is None:
        return None
    if reason.kind == "holiday":
        return public_holiday_name(day, language)
    if reason.kind == "named":
        return t(language, f"closed_day.{reason.name}")
    return t(language, "closed_day.extra")
