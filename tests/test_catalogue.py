"""The message catalogue: complete in both languages, and every key the code uses exists."""

from __future__ import annotations

import ast
import re
import string
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import (
    catalogue,
    error_text,
    format_date,
    month_name,
    t,
    user_error,
    weekday_name,
)
from scheduler.errors import AarshjulError, InputError, NotFoundError
from scheduler.model import EventType, Owner, Role
from scheduler.workdays import NAMED_CLOSED_DAYS

REPO = Path(__file__).resolve().parent.parent
CATALOGUE_FILE = REPO / "bot" / "catalogue.toml"
SOURCE_DIRS = ("bot", "scheduler", "storage")

# --- the catalogue file itself -------------------------------------------------------------------


def _raw_entries() -> dict[str, Any]:
    """Every leaf table of catalogue.toml, read independently of bot.i18n."""
    raw = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    found: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and any(not isinstance(v, dict) for v in node.values()):
            found[prefix] = node
            return
        assert isinstance(node, dict), f"{prefix}: expected a table"
        for name, child in node.items():
            walk(child, f"{prefix}.{name}" if prefix else name)

    walk(raw, "")
    return found


RAW = _raw_entries()
ENTRIES = sorted(catalogue())


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_catalogue_is_not_empty_and_matches_the_file() -> None:
    assert len(ENTRIES) > 50
    assert set(catalogue()) == set(RAW)


@pytest.mark.parametrize("key", sorted(RAW))
def test_entry_is_exactly_a_danish_and_an_english_text(key: str) -> None:
    entry = RAW[key]
    assert set(entry) == {"da", "en"}, f"{key}: {sorted(entry)}"
    for language in ("da", "en"):
        assert isinstance(entry[language], str), f"{key}.{language}"
        assert entry[language].strip(), f"{key}.{language} is empty"


@pytest.mark.parametrize("key", ENTRIES)
def test_both_languages_use_the_same_placeholders(key: str) -> None:
    entry = catalogue()[key]
    da, en = placeholders(entry["da"]), placeholders(entry["en"])
    assert da == en, f"{key}: da {sorted(da)} / en {sorted(en)}"
    for field in da:
        # Plain names only: {council}, not {0}, {} or {council.name}.
        assert field.isidentifier(), f"{key}: placeholder {{{field}}}"


@pytest.mark.parametrize("key", [k for k in ENTRIES if placeholders(catalogue()[k]["da"])])
def test_every_entry_formats_with_its_placeholders(key: str) -> None:
    params = {name: f"<{name}>" for name in placeholders(catalogue()[key]["da"])}
    for language in ("da", "en"):
        text = t(language, key, **params)
        for value in params.values():
            assert value in text, f"{key}.{language}: {value} not filled in"
        assert "{" not in text and "}" not in text, f"{key}.{language}: {text}"


def test_calendar_lists_have_seven_weekdays_and_twelve_months() -> None:
    for language in ("da", "en"):
        assert len(t(language, "calendar.weekdays").split(",")) == 7
        assert len(t(language, "calendar.months").split(",")) == 12


# --- keys used by the source ---------------------------------------------------------------

_LANG_ARG = r"""(?:[\w.]+|"[^"\n]*"|'[^'\n]*')"""
_KEY_ARG = r"""(?P<f>f?)(?P<q>["'])(?P<key>[^"'\n]+)(?P=q)"""
KEY_PATTERNS = (
    re.compile(rf"\bt\(\s*{_LANG_ARG}\s*,\s*{_KEY_ARG}"),
    re.compile(rf"\buser_error\(\s*\w+\s*,\s*{_KEY_ARG}"),
    re.compile(rf"\bkey={_KEY_ARG}"),
)
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[\w{}.\[\]]+)+$")


def _source_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py"))


def _literal_key_uses() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(plain keys, f-string prefixes), each with the file and line that uses it."""
    plain: set[tuple[str, str]] = set()
    prefixes: set[tuple[str, str]] = set()
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        for pattern in KEY_PATTERNS:
            for match in pattern.finditer(text):
                key = match["key"]
                if not _DOTTED.match(key):
                    continue  # key="..." that is not a catalogue key
                where = f"{path.relative_to(REPO)}:{text.count(chr(10), 0, match.start()) + 1}"
                if match["f"]:
                    prefixes.add((key.split("{", 1)[0], where))
                else:
                    plain.add((key, where))
    return plain, prefixes


PLAIN_USES, PREFIX_USES = _literal_key_uses()


def test_the_source_scan_finds_the_key_uses() -> None:
    found = {key for key, _ in PLAIN_USES}
    # One of each kind of call, so a broken pattern cannot pass silently.
    assert "cli.error" in found  # t(language, 'cli.error') inside an f-string
    assert "cycle.move.no_reason" in found  # user_error(InputError, "...")
    assert "db.not_initialised" in found  # key="..." on its own line
    assert "cycle.move.closed_day" in found  # user_error( with the key on the next line
    assert len(found) > 40
    assert {prefix for prefix, _ in PREFIX_USES} >= {"status.", "owner.", "event_type."}


@pytest.mark.parametrize(("key", "where"), sorted(PLAIN_USES))
def test_key_used_in_the_source_exists(key: str, where: str) -> None:
    assert key in catalogue(), f"{where}: catalogue key {key!r} is missing"


@pytest.mark.parametrize(("prefix", "where"), sorted(PREFIX_USES))
def test_fstring_key_prefix_has_entries(prefix: str, where: str) -> None:
    assert prefix.endswith(".")
    assert any(key.startswith(prefix) for key in catalogue()), (
        f"{where}: no catalogue key starts with {prefix!r}"
    )


def _indirect_keys() -> set[tuple[str, str]]:
    """String constants that reach t()/user_error() through an expression or a local name.

    E.g. ``t(lang, "a.b" if x else "a.c")`` or ``key = {0: "a.b"}.get(n, "a.c"); t(lang, key)``,
    which the literal patterns above do not see.
    """
    found: set[tuple[str, str]] = set()

    def constants(node: ast.AST) -> list[str]:
        return [
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and _DOTTED.match(n.value)
        ]

    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            assigned: dict[str, list[ast.AST]] = {}
            for node in ast.walk(func):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
            for call in ast.walk(func):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in ("t", "user_error")
                    and len(call.args) >= 2
                ):
                    continue
                arg = call.args[1]
                if isinstance(arg, ast.Constant | ast.JoinedStr):
                    continue  # seen by the literal patterns
                sources = assigned.get(arg.id, []) if isinstance(arg, ast.Name) else [arg]
                for source in sources:
                    for key in constants(source):
                        found.add((key, f"{path.relative_to(REPO)}:{call.lineno}"))
    return found


INDIRECT_USES = _indirect_keys()


def test_the_indirect_scan_finds_keys() -> None:
    assert INDIRECT_USES, "no key reached t() through a conditional or a local name"


@pytest.mark.parametrize(("key", "where"), sorted(INDIRECT_USES))
def test_key_reaching_t_indirectly_exists(key: str, where: str) -> None:
    assert key in catalogue(), f"{where}: catalogue key {key!r} is missing"


#: The columns of ``members list``.
MEMBER_COLUMNS = [
    "name",
    "email",
    "role",
    "organisation",
    "slack_id",
    "notify",
    "digest",
    "language",
]


@pytest.mark.parametrize(
    "key",
    [
        *(f"status.{s}" for s in ("planned", "moved", "passed")),
        *(f"owner.{o.value}" for o in Owner),
        *(f"event_type.{e.value}" for e in EventType),
        *(f"role.{r.value}" for r in Role),
        *(f"cycle.show.col.{c}" for c in ("date", "weekday", "event", "key", "owner", "status")),
        *(f"members.col.{c}" for c in MEMBER_COLUMNS),
        *(
            f"councils.col.{c}"
            for c in ("key", "kind", "name", "region", "slack_channel", "secretariat_email")
        ),
        *(f"members.outcome.{o}" for o in ("added", "updated", "unchanged")),
        *(f"closed_day.{name}" for name in (*NAMED_CLOSED_DAYS, "extra")),
    ],
)
def test_every_member_of_a_known_enumeration_has_an_entry(key: str) -> None:
    assert key in catalogue()


# --- t() and the date helpers ----------------------------------------------------------------


def test_t_picks_the_language() -> None:
    assert t("da", "status.planned") == "planlagt"
    assert t("en", "status.planned") == "planned"


@pytest.mark.parametrize("language", ["de", "", "EN", "xx"])
def test_t_falls_back_to_danish_for_an_unknown_language(language: str) -> None:
    assert t(language, "status.moved") == t("da", "status.moved") == "flyttet"
    assert t(language, "cycle.move.reason_too_long", limit=5) == (
        "begrundelsen er for lang (højst 5 tegn)"
    )


def test_t_fills_in_parameters() -> None:
    assert t("en", "cycle.bad_year", year=1999, low=2000, high=2100) == (
        "the year 1999 is outside 2000–2100"
    )


def test_t_with_an_unknown_key_raises() -> None:
    with pytest.raises(KeyError):
        t("da", "no.such.key")


@pytest.mark.parametrize(
    ("day", "language", "long", "expected"),
    [
        (date(2027, 4, 15), "da", False, "15.04.2027"),
        (date(2027, 4, 15), "en", False, "15 Apr 2027"),
        (date(2027, 4, 15), "da", True, "torsdag den 15. april 2027"),
        (date(2027, 4, 15), "en", True, "Thursday 15 April 2027"),
        (date(2027, 1, 4), "da", False, "04.01.2027"),
        (date(2027, 1, 4), "en", False, "4 Jan 2027"),
        (date(2027, 1, 4), "da", True, "mandag den 4. januar 2027"),
        (date(2027, 1, 4), "en", True, "Monday 4 January 2027"),
        (date(2026, 12, 31), "da", True, "torsdag den 31. december 2026"),
        (date(2028, 2, 29), "en", True, "Tuesday 29 February 2028"),
    ],
)
def test_format_date(day: date, language: str, long: bool, expected: str) -> None:
    assert format_date(day, language, long=long) == expected


def test_format_date_falls_back_to_danish() -> None:
    day = date(2027, 4, 15)
    assert format_date(day, "de") == format_date(day, "da")
    assert format_date(day, "de", long=True) == format_date(day, "da", long=True)


def test_weekday_name_for_a_whole_week() -> None:
    monday = date(2027, 4, 12)
    week = [monday + timedelta(days=i) for i in range(7)]
    assert [weekday_name(d, "da") for d in week] == [
        "mandag",
        "tirsdag",
        "onsdag",
        "torsdag",
        "fredag",
        "lørdag",
        "søndag",
    ]
    assert [weekday_name(d, "en") for d in week] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]


def test_month_name() -> None:
    assert [month_name(m, "da") for m in (1, 2, 5, 10, 12)] == [
        "januar",
        "februar",
        "maj",
        "oktober",
        "december",
    ]
    assert [month_name(m, "en") for m in (1, 2, 5, 10, 12)] == [
        "January",
        "February",
        "May",
        "October",
        "December",
    ]
    assert len({month_name(m, "da") for m in range(1, 13)}) == 12
    assert len({month_name(m, "en") for m in range(1, 13)}) == 12


# --- errors ------------------------------------------------------------------------------------


def test_user_error_carries_key_params_and_an_english_message() -> None:
    error = user_error(InputError, "cycle.move.reason_too_long", limit=500)
    assert isinstance(error, InputError)
    assert error.key == "cycle.move.reason_too_long"
    assert error.params == {"limit": 500}
    assert str(error) == "the reason is too long (at most 500 characters)"


def test_error_text_renders_a_keyed_error_in_the_requested_language() -> None:
    error = user_error(NotFoundError, "council.unknown", council="lbr-x", known="ber, lbr-odense")
    assert error_text(error, "da") == "ukendt råd 'lbr-x'. Kendte råd: ber, lbr-odense"
    assert error_text(error, "en") == "unknown council 'lbr-x'. Known councils: ber, lbr-odense"
    assert error_text(error, "de") == error_text(error, "da")


def test_error_text_for_an_error_raised_with_key_and_params() -> None:
    error = AarshjulError("cannot reach the database: boom", key="db.unreachable", why="boom")
    assert error_text(error, "da") == "kan ikke få forbindelse til databasen: boom"
    assert error_text(error, "en") == "cannot reach the database: boom"


@pytest.mark.parametrize(
    "error",
    [
        AarshjulError("plain message"),
        InputError("plain message"),
        AarshjulError("plain message", key="no.such.key"),
    ],
)
def test_error_text_falls_back_to_the_message(error: AarshjulError) -> None:
    assert error_text(error, "da") == "plain message"
    assert error_text(error, "en") == "plain message"
