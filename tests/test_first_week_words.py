"""What a new secretariat reads in its first week (issue 12, the "words" points).

Each test names the stumble it guards against; all run the real CLI in-process on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests import test_cli
from tests.cli_runner import Cli
from tests.conftest import snapshot_url

#: The CLI tests' fixtures: a copy of config.toml, and the same after ``aarshjul init``.
cli, ready = test_cli.cli, test_cli.ready

LBR = "lbr-gribskov"


def _rows(table: str) -> list[str]:
    """The body of an ``echo_table`` table: every line after the dashes."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [line for line in lines[start + 1 :] if line.strip()]


# Point 10: the next step needs the key; the list shows the preferences the import set.


def test_cycle_show_prints_each_events_key_for_cycle_move(ready: Cli) -> None:
    table = ready.ok("cycle", "show", "--council", LBR, "--year", "2027")
    rows = _rows(table)
    hearing = [row for row in rows if "employment_plan_hearing" in row.split()]
    assert len(hearing) == 1, table
    # The key printed is one cycle move accepts.
    key = "employment_plan_hearing"
    ready.ok(
        "cycle", "move", "--council", LBR, "--event", key, "--date", "2027-09-03",
        "--reason", "Rådsmødet er flyttet",
    )  # fmt: skip


def test_members_list_shows_notify_digest_and_language(ready: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(
        "council,name,email,organisation,role,slack_id,notify,digest,language\n"
        "lbr-gribskov,Anne Andersen,anne@example.dk,DA,formand,,email,ja,en\n"
        "lbr-gribskov,Bo Berg,bo@example.dk,LO,medlem,,,,\n",
        encoding="utf-8",
    )
    ready.ok("members", "import", str(csv))
    table = ready.ok("members", "list", "--council", LBR)
    header = table.splitlines()[0].split()
    assert header[-4:] == ["Besked", "via", "Ugeoversigt", "Sprog"]
    anne, bo = (row for row in _rows(table) if row.startswith(("Anne", "Bo")))
    assert anne.split()[-3:] == ["email", "ja", "en"]
    assert bo.split()[-3:] == ["auto", "nej", "standard"]
    english = ready.ok("members", "list", "--council", LBR, AARSHJUL__GENERAL__LANGUAGE="en")
    assert english.splitlines()[0].split()[-3:] == ["Notify", "Digest", "Language"]


# Point 14: a Danish spreadsheet imports as it is.


def test_members_csv_with_danish_headers_and_no_organisation(ready: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "medlemmer.csv"
    csv.write_text(
        "Råd;Navn;E-mail;Rolle;Slack_id;Sprog\n"
        "lbr-gribskov;Anne Andersen;anne@example.dk;formand;;da\n"
        "lbr-gribskov;Eva Eg;eva@example.dk;boss;;\n",
        encoding="cp1252",
    )
    result = ready("members", "import", str(csv))
    assert result.exit_code == 1  # Eva's role is refused, Anne lands
    assert "linje 2: tilføjet Anne Andersen (lbr-gribskov, formand)" in result.stdout
    assert (
        "linje 3: afvist: ukendt rolle 'boss'; brug en af formand, medlem, sekretær, observatør"
        in result.stderr
    )
    english = ready("members", "import", str(csv), AARSHJUL__GENERAL__LANGUAGE="en")
    assert "use one of formand, medlem, sekretær, observatør (or in English chair" in (
        english.stderr
    )


def test_a_file_without_organisation_keeps_the_seats_organisation(
    ready: Cli, tmp_path: Path
) -> None:
    full = tmp_path / "full.csv"
    full.write_text(
        "council,name,email,organisation,role\nlbr-gribskov,Anne,anne@example.dk,DA,formand\n"
    )
    ready.ok("members", "import", str(full))
    short = tmp_path / "short.csv"
    short.write_text("råd,navn,e-mail,rolle\nlbr-gribskov,Anne,anne@example.dk,formand\n")
    before = snapshot_url(ready.url)["membership"]
    out = ready.ok("members", "import", str(short))
    assert "uændret Anne" in out
    assert snapshot_url(ready.url)["membership"] == before


def test_bad_header_names_the_danish_columns(ready: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("råd,navn,telefon\nlbr-gribskov,Anne,1234\n")
    ready.refused(
        "members", "import", str(csv),
        says=("råd,navn,e-mail,organisation,rolle", "mangler: email, role", "ukendte: telefon"),
    )  # fmt: skip
