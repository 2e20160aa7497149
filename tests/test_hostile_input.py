"""Hostile input at the edges: invisible characters, formulas, oversized and endless
files, and a database that refuses us. Each ends in one clear line and changes nothing."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.services.hearings import clean_text
from bot.services.members import import_members
from bot.text import (
    FORMULA_START,
    clean_long,
    forbidden_at,
    header_safe,
    inert_cell,
    read_bounded,
)
from scheduler.errors import InputError
from storage.db import Database
from storage.models import Council, Hearing, HearingAnswer, HearingInvitee, Membership, Person
from tests.cli_runner import Cli
from tests.slack_world import CONFIG, MEMBERS

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
#: One of each class refused in names and titles.
FORBIDDEN = {
    "NUL": "\x00",
    "tab": "\t",
    "newline": "\n",
    "DEL": "\x7f",
    "NEL (C1)": "\x85",
    "C1 CSI": "\x9b",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "RLM": "\u200f",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
    "line separator": "\u2028",
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_a_title_with_a_forbidden_character_is_refused_naming_its_position(name: str) -> None:
    char = FORBIDDEN[name]
    assert forbidden_at(f"Plan{char}2027") == (5, f"U+{ord(char):04X}")
    with pytest.raises(InputError) as refused:
        clean_text(f"Plan{char}2027", "titlen", 200)
    assert "plads 5" in str(refused.value) or "position 5" in str(refused.value)
    assert f"U+{ord(char):04X}" in str(refused.value)


def test_clean_text_normalises_and_strips_what_long_text_may_not_hold() -> None:
    decomposed = "Ærø og Ka\u0308the"  # a + combining diaeresis
    assert clean_text(decomposed, "navn", 200) == "Ærø og Käthe"
    assert clean_long("Vi\u200b støtter\u202e\r\nplanen\tfuldt\x00 ud.\x85") == (
        "Vi støtter\nplanen\tfuldt ud."
    )
    assert header_safe("Høring:\u202e gnirøH\r\nBcc: x") == "Høring: gnirøH Bcc: x"
    assert clean_text("   ", "titlen", 200) == ""  # the caller says what is missing
    with pytest.raises(InputError):
        clean_text("x" * 201, "titlen", 200)


def test_every_formula_start_is_made_inert() -> None:
    for start in FORMULA_START:
        assert inert_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert inert_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert inert_cell("Anne") == "Anne" and inert_cell(12) == "12" and inert_cell(None) == ""


def test_read_bounded_stops_at_the_limit() -> None:
    assert read_bounded(io.BytesIO(b"x" * 10), 10) == b"x" * 10
    assert read_bounded(io.BytesIO(b"x" * 11), 10) is None
    with open("/dev/zero", "rb") as zero:
        assert read_bounded(zero, 3_000_000) is None


async def _seed(db: Database) -> None:
    async with db.transaction() as s:
        s.add(Council(key="lbr-a", kind="LBR", name="LBR A", created_at=NOW, updated_at=NOW))
        s.add(Council(key="lbr-b", kind="LBR", name="LBR B", created_at=NOW, updated_at=NOW))


HEADER = "council,name,email,organisation,role\n"


@pytest.mark.parametrize(
    ("name", "organisation", "says"),
    [
        ('=HYPERLINK("https://evil")', "LO", "formel"),
        ("+45 Mallory", "LO", "formel"),
        ("-Mallory", "LO", "formel"),
        ("@Mallory", "LO", "formel"),
        ("Anne", "=cmd|' /C calc'!A0", "formel"),
        ("Mal\u202elory", "LO", "(U+202E) på plads 4"),
        ("Mal\u200blory", "LO", "(U+200B) på plads 4"),
        ("Anne", "L\x85O", "(U+0085) på plads 2"),
    ],
)
async def test_the_members_import_refuses_formulas_and_invisible_characters(
    db: Database, name: str, organisation: str, says: str
) -> None:
    await _seed(db)
    data = (HEADER + f'lbr-a,"{name}",m@example.dk,"{organisation}",member\n').encode()
    async with db.transaction() as s:
        report = await import_members(s, data, now=NOW, actor="test")
    assert report.rejected == 1 and says in report.lines[0].text, report.lines[0].text
    async with db.session() as s:
        assert (await s.exec(Person.__table__.select())).all() == []  # type: ignore[call-overload]


async def test_a_repeated_e_mail_under_another_name_is_a_conflict_unless_renamed(
    db: Database,
) -> None:
    await _seed(db)
    async with db.transaction() as s:
        await import_members(
            s, (HEADER + "lbr-a,Anne Andersen,anne@example.dk,DA,member\n").encode(),
            now=NOW, actor="test",
        )  # fmt: skip
    other = HEADER + "lbr-b,Mallory,anne@example.dk,DA,member\n"
    async with db.transaction() as s:
        report = await import_members(s, other.encode(), now=NOW, actor="test")
    assert report.rejected == 1 and "konflikt" in report.lines[0].text
    assert "--rename" in report.lines[0].text
    async with db.session() as s:
        names = [p.name for p in (await s.exec(select_people())).all()]
        seats = (await s.exec(select_seats())).all()
    assert names == ["Anne Andersen"] and len(seats) == 1
    # Within one file, too: the second row may not rename the person of the first.
    twice = HEADER + (
        "lbr-a,Bo Berg,bo@example.dk,LO,member\nlbr-b,Bo Hacker,bo@example.dk,LO,member\n"
    )
    async with db.transaction() as s:
        report = await import_members(s, twice.encode(), now=NOW, actor="test")
    assert [line.outcome for line in report.lines] == ["added", "rejected"]
    async with db.transaction() as s:
        report = await import_members(s, other.encode(), now=NOW, actor="test", rename=True)
    assert report.rejected == 0
    async with db.session() as s:
        assert "Mallory" in [p.name for p in (await s.exec(select_people())).all()]


def select_people():  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return select(Person).order_by(Person.id)


def select_seats():  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return select(Membership)


async def test_the_csv_export_has_no_cell_a_spreadsheet_would_evaluate(db: Database) -> None:
    """Member fields that all start with = + - @ (stored before the import refused such
    names): every cell of the export is text."""
    from bot.services.hearing_export import compile_csv
    from bot.services.hearings import HearingStatus, seats

    async with db.transaction() as s:
        council = Council(key="lbr-a", kind="LBR", name="LBR A", created_at=NOW, updated_at=NOW)
        s.add(council)
        await s.flush()
        people = []
        for i, start in enumerate(("=", "+", "-", "@")):
            person = Person(
                name=f'{start}HYPERLINK("https://evil/{i}")',
                email=f"{start}x{i}@example.dk",
                created_at=NOW,
                updated_at=NOW,
            )
            s.add(person)
            await s.flush()
            people.append(person)
            s.add(Membership(person_id=person.id, council_id=council.id, role="member",
                             organisation=f"{start}cmd|' /C calc'!A0",
                             created_at=NOW, updated_at=NOW))  # fmt: skip
        hearing = Hearing(
            council_id=council.id or 0, title="=1+1", deadline=date(2026, 12, 18),
            opened_by="test", opened_at=NOW, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        s.add(hearing)
        await s.flush()
        for person in people:
            s.add(HearingInvitee(hearing_id=hearing.id or 0, person_id=person.id or 0))
        for person in people[:2]:
            s.add(HearingAnswer(hearing_id=hearing.id or 0, person_id=person.id or 0,
                                answered_by_id=person.id or 0, position="object",
                                remarks="-2+3", link="@evil", organisation="=x",
                                answered_at=NOW, created_at=NOW, updated_at=NOW))  # fmt: skip
    async with db.session() as s:
        stored = await s.get(Hearing, hearing.id)
        assert stored is not None
        status = HearingStatus(stored, council, await seats(s, stored, date(2026, 11, 23)), 0, 0)
        by_id = {p.id or 0: p for p in people}
        text = compile_csv(status, by_id)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 5
    cells = [cell for row in rows for cell in row]
    evaluated = [c for c in cells if c.startswith(FORMULA_START)]
    assert evaluated == [], evaluated
    assert any(c.startswith("'=HYPERLINK") for c in cells)


# --- files and the database, through the real command ---------------------------------

WRAP = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", *sys.argv[1:]],
                      capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.stderr.write("\\nmaxrss_kb=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def _command(args: list[str], env: dict[str, str]) -> tuple[int, str, str, float, float]:
    """Run ``aarshjul ARGS`` as a process: exit code, stdout, stderr, seconds, peak MB."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WRAP, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    took = time.monotonic() - started
    err, _, rss = done.stderr.rpartition("\nmaxrss_kb=")
    return done.returncode, done.stdout, err.strip(), took, int(rss) / 1024


@pytest.fixture
def prepared(database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(folder=(tmp_path / "mail").as_posix()), encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    return {"DATABASE_URL": database_url, "AARSHJUL_CONFIG": str(config), "AARSHJUL_DEBUG": ""}


def _files(tmp_path: Path) -> dict[str, str]:
    big_cell = tmp_path / "big-cell.csv"
    big_cell.write_text(HEADER + "lbr-test," + "A" * 1_000_000 + ",a@example.dk,LO,member\n")
    hundred = tmp_path / "hundred.csv"
    with hundred.open("wb") as f:
        f.write(HEADER.encode())
        f.truncate(100 * 1024 * 1024)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 400)
    return {
        "1 MB cell": str(big_cell),
        "100 MB file": str(hundred),
        "/dev/zero": "/dev/zero",
        "binary file": str(binary),
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", ["1 MB cell", "100 MB file", "/dev/zero", "binary file"])
def test_a_bad_file_ends_in_one_line_within_5_s_and_200_mb(
    database_url: str, tmp_path: Path, prepared: dict[str, str], case: str
) -> None:
    before = _snapshot(database_url)
    path = _files(tmp_path)[case]
    code, out, err, took, peak = _command(["members", "import", path], prepared)
    print(f"{case}: exit {code}, {took:.2f} s, peak {peak:.0f} MB: {err}")
    assert code == 1, (out, err)
    assert len(err.splitlines()) == 1 and err.startswith("fejl: "), err
    assert "Traceback" not in err + out
    assert took < 5 and peak < 200
    assert _snapshot(database_url) == before


def _snapshot(url: str) -> object:
    from tests.conftest import snapshot_url

    return snapshot_url(url)


@pytest.mark.slow
def test_a_wrong_database_login_is_one_line_without_the_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(folder=(tmp_path / "mail").as_posix()), encoding="utf-8")
    env = {
        "AARSHJUL_CONFIG": str(config),
        "DATABASE_URL": "postgresql://nobody-here:Hemmeligt-Kodeord-42@127.0.0.1:5432/no_such_db",
        "AARSHJUL_DEBUG": "",
    }
    for args in (["councils", "list"], ["init"]):
        code, out, err, _, _ = _command(args, env)
        assert code == 1, (out, err)
        assert len(err.splitlines()) == 1 and "databasen" in err, err
        assert "Hemmeligt-Kodeord-42" not in err + out and "Traceback" not in err
    # -v shows the traceback (still without the password).
    code, _, err, _, _ = _command(["-v", "councils", "list"], env)
    assert code == 1 and "Traceback" in err and "Hemmeligt-Kodeord-42" not in err


@pytest.mark.parametrize("name", ["RLO", "zero-width space", "NEL (C1)", "LRI", "newline"])
def test_a_hearing_or_meeting_title_with_a_forbidden_character_is_refused(
    database_url: str, tmp_path: Path, name: str
) -> None:
    from tests.test_hearing_cli import cli_for

    cli = cli_for(database_url, tmp_path)
    char = FORBIDDEN[name]
    code = f"U+{ord(char):04X}"
    cli.refused(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18",
        "--title", f"Plan{char}2027",
        says=(code, "plads 5"),
    )  # fmt: skip
    cli.refused(
        "seminar", "create", "--council", "lbr-test", "--title", f"Møde{char}x",
        "--start", "2027-03-02 09:00", "--end", "2027-03-02 12:00",
        says=(code, "plads 5"),
    )  # fmt: skip


def test_an_answer_keeps_its_lines_and_loses_invisible_characters() -> None:
    from bot.services.hearing_answers import AnswerInput, check_answer

    given = AnswerInput("object", "Vi\u200b er\u202e imod.\r\nSe\tbilag\x00.", None, "own")
    assert check_answer(given).remarks == "Vi er imod.\nSe\tbilag."
