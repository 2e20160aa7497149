"""Result periods: months and quarters in the forms Jobindsats.dk and spreadsheets use.

A period is stored canonically, ``2026-09`` for a month and ``2026-Q3`` for a quarter,
so the periods of one kind sort as text; :func:`parse_period` reads ``2026-09``,
``2026M09`` (Jobindsats' own form), ``2026Q3`` and ``2026-Q3``.
"""

from __future__ import annotations

import re

_MONTH = re.compile(r"^(\d{4})(?:-|M|m)(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


def parse_period(text: str) -> str | None:
    """The canonical form of ``text``, or None when it is no period (``2026-13``)."""
    text = text.strip()
    month = _MONTH.match(text)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if 1 <= number <= 12 and 1900 <= year <= 2200:
            return f"{year:04d}-{number:02d}"
        return None
    quarter = _QUARTER.match(text)
    if quarter and 1900 <= int(quarter.group(1)) <= 2200:
        return f"{int(quarter.group(1)):04d}-Q{quarter.group(2)}"
    return None


def is_quarter(period: str) -> bool:
    return "Q" in period


def period_index(period: str) -> int:
    """Months or quarters since year 0: consecutive periods differ by one."""
    year, rest = int(period[:4]), period[5:]
    if rest.startswith("Q"):
        return year * 4 + int(rest[1]) - 1
    return year * 12 + int(rest) - 1


def period_label(period: str, language: str = "da") -> str:
    """``sep. 2026`` / ``Sep 2026`` for a month, ``3. kvt. 2026`` / ``Q3 2026``."""
    year, rest = period[:4], period[5:]
    if rest.startswith("Q"):
        return f"{rest[1]}. kvt. {year}" if language == "da" else f"Q{rest[1]} {year}"
    names = _MONTHS_DA if language == "da" else _MONTHS_EN
    return f"{names[int(rest) - 1]} {year}"


_MONTHS_DA = (
    "jan.", "feb.", "mar.", "apr.", "maj", "jun.",
    "jul.", "aug.", "sep.", "okt.", "nov.", "dec.",
)  # fmt: skip
_MONTHS_EN = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
