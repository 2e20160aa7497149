"""The command line, end to end on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import icalendar
import pytest
import typer
import vobject
from typer.testing import CliRunner

from bot.cli import build_cli
from scheduler.model import CouncilKind
from scheduler.template import load_template
from scheduler.workdays import WorkingCalendar
from tests.cli_runner import CLOCK, Cli
from tests.conftest import REPO, snapshot_url
from tests.template_text import event

LBR = "lbr-gribskov"


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    return Cli(database_url, config)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    cli.ok("init")
    return cli


def test_init_creates_councils_and_two_years_and_is_idempotent(cli: Cli) -> None:
    out = cli.ok("init")
    assert "10 nye" in out and "2026, 2027" in out
    first = snapshot_url(cli.url)
    assert len(first["council"]) == 10
    per_year = {y: sum(1 for r in first["cycle_event"] if r[2] == y) for y in (2026, 2027)}
    assert per_year[2026] == per_year[2027] > 0
    out = cli.ok("init")
    assert "0 nye, 0 ændrede, 10 uændrede" in out
    assert snapshot_url(cli.url) == first  # not even the audit log grew


def test_init_extra_year(cli: Cli) -> None:
    out = cli.ok("init", "--year", "2030")
    assert "2026, 2027, 2030" in out
    years = {r[2] for r in snapshot_url(cli.url)["cycle_event"]}
    assert years == {2026, 2027, 2030}


def test_cycle_show_lbr_2027_lists_every_lbr_event_on_working_days_in_order(ready: Cli) -> None:
    data = json.loads(ready.ok("cycle", "show", "--council", LBR, "--year", "2027", "--json"))
    template = load_template("default")
    expected = {k for k, e in template.events.items() if e.applies(CouncilKind.LBR)}
    keys = [e["key"] for e in data["events"]]
    assert set(keys) == expected and len(keys) == len(expected)
    dates = [date.fromisoformat(e["date"]) for e in data["events"]]
    assert dates == sorted(dates)
    calendar = WorkingCalendar()
    assert all(calendar.is_working_day(d) for d in dates)
    assert data["stored"] is True and data["year"] == 2027
    assert data["events"][0]["weekday"] == "fredag"  # 26.02.2027

    table = ready.ok("cycle", "show", "--council", LBR, "--year", "2027")
    lines = table.splitlines()
    assert lines[0] == "Årshjul 2027 for LBR Gribskov (lbr-gribskov)"
    assert lines[2].split() == [
        "Dato", "Ugedag", "Begivenhed", "Nøgle", "(--event)", "Ansvarlig", "Status"
    ]  # fmt: skip
    body = [line for line in lines[4:] if line.strip()]
    assert len(body) == len(expected)
    assert body[0].startswith("26.02.2027  fredag")
    assert all(line.rstrip().endswith("planlagt") for line in body)


def test_cycle_show_in_english_and_past_status(ready: Cli) -> None:
    out = ready.ok(
        "cycle", "show", "--council", LBR, "--year", "2026", AARSHJUL__GENERAL__LANGUAGE="en"
    )
    assert "Annual cycle 2026 for LBR Gribskov" in out
    assert "passed" in out  # every 2026 event before 23 November has passed
    assert "planned" in out  # the 30 December adoption has not


def test_cycle_show_unstored_year_is_computed_and_says_so(ready: Cli) -> None:
    before = snapshot_url(ready.url)
    out = ready.ok("cycle", "show", "--council", LBR, "--year", "2031")
    assert "aarshjul init --year 2031" in out
    assert "15.04.2031" in out  # the targets, a Tuesday
    assert snapshot_url(ready.url) == before


def test_cycle_move_moves_followers_and_shows_it(ready: Cli) -> None:
    out = ready.ok(
        "cycle",
        "move",
        "--council",
        LBR,
        "--event",
        "employment_plan_hearing",
        "--date",
        "2027-09-03",
        "--reason",
        "Rådsmødet er flyttet",
        "--by",
        "Sofie",
    )
    assert "fredag den 3. september 2027" in out
    assert "17.08.2027 → 20.08.2027" in out
    data = json.loads(ready.ok("cycle", "show", "--council", LBR, "--year", "2027", "--json"))
    by_key = {e["key"]: e for e in data["events"]}
    assert by_key["employment_plan_hearing"]["date"] == "2027-09-03"
    assert by_key["employment_plan_hearing"]["override"]["by"] == "Sofie"
    assert by_key["employment_plan_hearing"]["override"]["reason"] == "Rådsmødet er flyttet"
    assert by_key["business_plan"]["status"] == "moved"
    audit = snapshot_url(ready.url)["audit_log"]
    assert any(row[2] == "Sofie" and row[3] == "cycle_event.moved" for row in audit)


def _parse_both(text: str) -> tuple[icalendar.Calendar, object]:
    return icalendar.Calendar.from_ical(text), vobject.readOne(text)


def test_cycle_ics_parses_with_two_parsers_and_uids_are_stable(ready: Cli) -> None:
    first = ready.ok("cycle", "ics", "--council", LBR, "--year", "2027")
    cal, vcal = _parse_both(first)
    events = cal.walk("VEVENT")
    assert len(events) == 10
    assert len(vcal.vevent_list) == 10  # type: ignore[attr-defined]
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 10
    assert {str(v.uid.value) for v in vcal.vevent_list} == set(uids)  # type: ignore[attr-defined]
    starts = {str(e["UID"]): e.decoded("DTSTART") for e in events}
    assert starts[f"{LBR}-2027-targets@aarshjul"] == date(2027, 4, 15)
    # Default offsets 14, 7, 1, 0 working days: four alarms on a plain deadline.
    targets = next(e for e in events if str(e["UID"]).endswith("-targets@aarshjul"))
    assert len(targets.walk("VALARM")) == 4

    # A move changes the date and SEQUENCE, never the UID.
    ready.ok(
        "cycle",
        "move",
        "--council",
        LBR,
        "--event",
        "targets",
        "--date",
        "2027-04-20",
        "--reason",
        "Udskudt",
    )
    second = ready.ok("cycle", "ics", "--council", LBR, "--year", "2027")
    events2 = icalendar.Calendar.from_ical(second).walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events2) == sorted(uids)
    moved = next(e for e in events2 if str(e["UID"]).endswith("-targets@aarshjul"))
    assert moved.decoded("DTSTART") == date(2027, 4, 20)
    assert moved.decoded("SEQUENCE") == 1


def test_cycle_ics_uses_council_reminder_offsets(ready: Cli) -> None:
    # lbr-norddjurs sets reminder_offsets = [15, 10, 5, 1, 0] in config.toml.
    text = ready.ok("cycle", "ics", "--council", "lbr-norddjurs", "--year", "2027")
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    targets = next(e for e in events if str(e["UID"]).endswith("-targets@aarshjul"))
    assert len(targets.walk("VALARM")) == 5


# --- bad input: a clear message, a non-zero exit, and nothing changed -------------------


def test_malformed_config_changes_nothing(ready: Cli) -> None:
    ready.config.write_text(ready.config.read_text() + "\n[email]\nport = 'abc'\n")
    ready.refused("init", says=(str(ready.config), "ikke gyldig TOML"))  # [email] twice

    text = (REPO / "config.toml").read_text().replace("port = 587", 'port = "many"')
    ready.config.write_text(text)
    ready.refused("init", says=(str(ready.config), "email.port", "integer"))


def test_template_with_dependency_cycle_changes_nothing(ready: Cli, tmp_path: Path) -> None:
    template = tmp_path / "cyclic.toml"
    template.write_text(
        'key = "cyclic"\nname_da = "x"\nname_en = "x"\n'
        + "".join(
            event(
                k,
                {"kind": "offset", "from": ref, "amount": 1, "unit": "days", "direction": "after"},
            )
            for k, ref in (("alpha", "beta"), ("beta", "gamma"), ("gamma", "alpha"))
        )
    )
    ready.refused(
        "init",
        says=("dependency cycle", "alpha", "beta", "gamma"),
        AARSHJUL__GENERAL__TEMPLATE=str(template),
    )


@pytest.mark.parametrize(
    "args",
    [
        ("cycle", "show", "--council", "lbr-atlantis"),
        ("cycle", "ics", "--council", "lbr-atlantis"),
        ("members", "list", "--council", "lbr-atlantis"),
        (
            "cycle",
            "move",
            "--council",
            "lbr-atlantis",
            "--event",
            "targets",
            "--date",
            "2027-04-20",
            "--reason",
            "x",
        ),
    ],
)
def test_unknown_council_is_named_and_changes_nothing(ready: Cli, args: tuple[str, ...]) -> None:
    # The known councils are listed, so the secretary sees the right key.
    ready.refused(*args, says=("ukendt råd 'lbr-atlantis'", "lbr-gribskov"))


def test_csv_with_bad_email_is_reported_and_changes_nothing(ready: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(
        "council,name,email,organisation,role,slack_id\nlbr-gribskov,Bo,bo@@x,LO,member,\n"
    )
    result = ready.refused(
        "members", "import", str(csv), says=("linje 2: afvist: ugyldig e-mailadresse 'bo@@x'",)
    )
    assert "0 tilføjet" in result.stdout and "1 afvist" in result.stdout


def test_csv_import_lands_good_rows_and_lists_them(ready: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(
        "council,name,email,organisation,role,slack_id\n"
        "lbr-gribskov,Anne,anne@example.dk,DA,formand,U0123ABCD\n"
        "lbr-gribskov,Bo,bo@@x,LO,member,\n"
    )
    dry = ready("members", "import", str(csv), "--dry-run")
    assert dry.exit_code == 1 and "Prøvekørsel" in dry.stdout
    assert snapshot_url(ready.url)["person"] == []
    strict = ready("members", "import", str(csv), "--strict")
    assert strict.exit_code == 1 and "--strict" in strict.stdout
    assert snapshot_url(ready.url)["person"] == []
    result = ready("members", "import", str(csv))
    assert result.exit_code == 1  # a row was rejected, the good one landed
    assert "linje 2: tilføjet Anne (lbr-gribskov, formand)" in result.stdout
    listing = json.loads(ready.ok("members", "list", "--council", LBR, "--json"))
    assert listing == [
        {
            "name": "Anne",
            "email": "anne@example.dk",
            "role": "chair",
            "organisation": "DA",
            "slack_id": "U0123ABCD",
            "notify": "auto",
            "digest": False,
            "language": None,
        }
    ]


def test_missing_csv_file(ready: Cli, tmp_path: Path) -> None:
    result = ready("members", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "nope.csv" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            (
                "cycle",
                "move",
                "--council",
                LBR,
                "--event",
                "targets",
                "--date",
                "20-04-2027",
                "--reason",
                "x",
            ),
            "'20-04-2027' er ikke en dato",
        ),
        (
            (
                "cycle",
                "move",
                "--council",
                LBR,
                "--event",
                "targets",
                "--date",
                "2027-06-05",
                "--reason",
                "x",
            ),
            "Grundlovsdag",
        ),
        (("cycle", "show", "--council", LBR, "--year", "1850"), "1850"),
        (
            (
                "cycle",
                "move",
                "--council",
                LBR,
                "--event",
                "nope",
                "--date",
                "2027-04-20",
                "--reason",
                "x",
            ),
            "'nope' er ikke en begivenhed",
        ),
    ],
)
def test_bad_dates_and_events_are_refused(ready: Cli, args: tuple[str, ...], needle: str) -> None:
    ready.refused(*args, says=(needle,))


def test_commands_before_init_say_what_to_do(cli: Cli) -> None:
    result = cli("cycle", "show", "--council", LBR)
    assert result.exit_code == 1
    assert "aarshjul init" in result.stderr


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(group, "commands"):
        for name, command in group.commands.items():
            found += _commands(command, (*path, name))
    return found


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_command_has_help(language: str) -> None:
    app = build_cli(clock=CLOCK, language=language)
    commands = _commands(typer.main.get_command(app))
    assert ("cycle", "ics") in commands and ("members", "import") in commands
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage" in result.stdout
    text = CliRunner().invoke(app, ["cycle", "move", "--help"]).stdout
    assert ("Flyt en begivenhed" if language == "da" else "Move an event") in text
