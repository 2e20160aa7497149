"""What a new secretariat reads in its first week (issue 12, the "words" points).

Each test names the stumble it guards against; all run the real CLI in-process on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
from email.message import Message
from pathlib import Path

import pytest

from tests import test_cli
from tests.cli_runner import Cli
from tests.conftest import REPO, snapshot_url

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


# Point 15: a command before init says what to do and leaves no empty aarshjul.db.

READ_COMMANDS = [
    ("cycle", "show", "--council", LBR),
    ("members", "list", "--council", LBR),
    ("councils", "list"),
    ("outbox", "status"),
    ("remind", "plan", "--until", "2027-01-31"),
    ("hearing", "list"),
    ("seminar", "list"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("empty_file", [False, True], ids=["no file", "empty file"])
def test_a_command_before_init_creates_no_database_and_says_run_init(
    tmp_path: Path, args: tuple[str, ...], empty_file: bool
) -> None:
    path = tmp_path / "aarshjul.db"
    if empty_file:
        path.touch()  # what every command used to leave behind
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    cli = Cli(f"sqlite+aiosqlite:///{path}", config)
    result = cli(*args)
    assert result.exit_code == 1, result.stdout
    assert "der er ingen database i" in result.stderr and "kør 'aarshjul init' først" in (
        result.stderr
    )
    assert path.exists() is empty_file
    if empty_file:
        assert path.stat().st_size == 0


def test_init_without_a_config_file_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "aarshjul.db"
    cli = Cli(f"sqlite+aiosqlite:///{path}", tmp_path / "config.toml", AARSHJUL_CONFIG=None)
    result = cli("init")
    assert result.exit_code == 1, result.stdout
    assert f"der er ingen config.toml i {tmp_path}" in result.stderr
    assert "AARSHJUL_CONFIG=sti/til/config.toml" in result.stderr
    assert "(built-in defaults)" not in result.stdout + result.stderr
    assert not path.exists()


def test_init_with_a_config_without_councils_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\nlanguage = "en"\n', encoding="utf-8")
    path = tmp_path / "aarshjul.db"
    result = Cli(f"sqlite+aiosqlite:///{path}", config)("init")
    assert result.exit_code == 1
    assert f"{config} has no [[councils]]" in result.stderr
    assert not path.exists()


# Point 13: a configuration error says what, where (file, line, key) and what is allowed,
# in the reader's language, with the nearest known key for a typo.


@pytest.mark.parametrize(
    ("text", "danish", "english"),
    [
        (
            '[general]\nlanguage = "da"\ntimezone = Europe/Copenhagen\n',
            (", linje 3: filen er ikke gyldig TOML: værdien kan ikke læses", "timezone = "),
            (", line 3: not valid TOML: the value cannot be read", "The line reads: timezone"),
        ),
        (
            "[email]\nprot = 25\n",
            (", linje 2: email.prot: ukendt nøgle; mente du 'port'?", "host, port"),
            (", line 2: email.prot: unknown key; did you mean 'port'?",),
        ),
        (
            '[[councils]]\nkey = "lbr-gribskov\nkind = "LBR"\n',
            (", linje 2: filen er ikke gyldig TOML: et tegn, der ikke må stå her",),
            (", line 2: not valid TOML: a character that may not stand here",),
        ),
        (
            '[[councils]]\nkey = "ber"\nkind = "BER"\nname = "B"\nchanel = "ber"\n',
            ("linje 5: councils[0] (key 'ber').chanel: ukendt nøgle; mente du 'slack_channel'?",),
            ("line 5: councils[0] (key 'ber').chanel: unknown key; did you mean 'slack_channel'",),
        ),
        (
            '[outbox]\nconcurrency = "ti"\n',
            (", linje 2: outbox.concurrency: skal være et helt tal", "ikke 'ti'"),
            (", line 2: outbox.concurrency: must be a whole number", "got 'ti'"),
        ),
        (
            "[slack]\nbot_token = 'xoxb-leaked'\n",
            ("nøglen slack.bot_token ligner en hemmelighed; hemmeligheder kommer kun fra miljøet",),
            ("key slack.bot_token looks like a secret",),
        ),
        (
            '[email]\nbackend = "pigeon"\n',
            ("email.backend: skal være en af: smtp, file, ikke 'pigeon'",),
            ("email.backend: must be one of: smtp, file, got 'pigeon'",),
        ),
    ],
    ids=["not toml", "typo", "unclosed quote", "council typo", "integer", "secret", "choice"],
)
def test_a_config_error_says_what_where_and_what_is_allowed(
    tmp_path: Path, text: str, danish: tuple[str, ...], english: tuple[str, ...]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", config)
    for language, says in (("da", danish), ("en", english)):
        result = cli("councils", "list", language=language)
        assert result.exit_code == 1
        err = result.stderr
        assert err.startswith(f"{'fejl' if language == 'da' else 'error'}: {config}"), err
        for needle in says:
            assert needle in err, err
        for english_only in ("Illegal character", "Input should be", "valid integer"):
            assert english_only not in err, err
    assert not (tmp_path / "a.db").exists()


# Point 16: the README and the Dockerfile say what is true.


def test_readme_names_every_command_the_manifest_declares() -> None:
    import yaml

    manifest = yaml.safe_load((REPO / "slack-manifest.yml").read_text(encoding="utf-8"))
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    step = readme[readme.index("From an app manifest") :].split("\n2. ", 1)[0]
    assert commands and all(f"`{command}`" in step for command in commands), step


def test_no_file_refers_to_a_markdown_file_that_is_not_in_the_repository() -> None:
    import re
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    names = {Path(p).name for p in tracked if p.endswith(".md")}
    missing = []
    for path in tracked:
        if not path.endswith((".py", ".toml", ".md", ".yml", ".cfg", ".ini")):
            continue
        text = (REPO / path).read_text(encoding="utf-8", errors="replace")
        for name in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", text):
            if name not in names:
                missing.append(f"{path}: {name}")
    assert missing == []


def _dockerfile_healthcheck() -> tuple[str, str]:
    """The HEALTHCHECK's options and the Python code its CMD runs."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("HEALTHCHECK"))
    options, command = line.split(" CMD ", 1)
    import shlex

    argv = shlex.split(command)
    assert argv[:2] == ["python", "-c"]
    return options, argv[2]


def test_docker_healthcheck_asks_the_configured_port_after_a_start_period(tmp_path: Path) -> None:
    import http.server
    import os
    import subprocess
    import sys
    import threading

    options, code = _dockerfile_healthcheck()
    assert "--start-period=" in options
    assert "3000" not in code.replace("'3000')", "")  # only as the fallback

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]

        def check(env_port: str) -> int:
            env = {**os.environ, "AARSHJUL__SERVER__PORT": env_port}
            return subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, timeout=30
            ).returncode

        assert check(str(port)) == 0
        with socket_closed() as unused:
            assert check(str(unused)) != 0
    finally:
        server.shutdown()
        server.server_close()
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "AARSHJUL__SERVER__PORT=3000" in text and "EXPOSE 3000" in text


class socket_closed:
    """A loopback port that nothing listens on, for the length of the block."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None


# Point 11: texts that were wrong.


def _hearing_cli(database_url: str, tmp_path: Path) -> Cli:
    from tests.test_hearing_cli import cli_for

    return cli_for(database_url, tmp_path)


def _open_plan(cli: Cli, *more: str) -> None:
    """Open hearing 1, "Plan 2027", for lbr-test with a deadline of 18 December 2026."""
    cli.ok(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18",
        "--title", "Plan 2027", "--yes", *more,
    )  # fmt: skip


def _later(cli: Cli, days: int, *args: str) -> str:
    """Run a command ``days`` after the CLI tests' fixed clock."""
    from datetime import timedelta

    from typer.testing import CliRunner

    from bot.cli import build_cli
    from scheduler.clock import FixedClock
    from tests.cli_runner import CLOCK

    app = build_cli(clock=FixedClock(CLOCK.now() + timedelta(days=days)), language="da")
    result = CliRunner().invoke(app, list(args), env=cli.env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def test_seminar_title_help_and_the_attendees_name_column(
    database_url: str, tmp_path: Path
) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    help_text = cli.ok("seminar", "create", "--help")
    title_help = help_text[help_text.index("--title") :].split("--start")[0]
    assert "Mødets titel" in " ".join(title_help.split())
    assert "høring" not in title_help
    cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Planseminar",
        "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
    )  # fmt: skip
    header = cli.ok("seminar", "attendees", "1").splitlines()[0].split()
    assert header[:2] == ["Navn", "E-mail"]


def test_closing_a_closed_hearing_tells_the_secretary_not_the_member(
    database_url: str, tmp_path: Path
) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    _open_plan(cli)
    cli.ok("hearing", "close", "1")
    again = cli.refused("hearing", "close", "1", says=("høring 1 (Plan 2027) er allerede lukket",))
    assert "skriv til sekretariatet" not in again.stderr


def test_an_impossible_date_says_how_many_days_the_month_has(ready: Cli) -> None:
    ready.refused(
        "cycle", "move", "--council", LBR, "--event", "targets", "--date", "2027-02-30",
        "--reason", "x", says=("'2027-02-30' findes ikke: februar 2027 har 28 dage",),
    )  # fmt: skip
    english = ready(
        "cycle", "move", "--council", LBR, "--event", "targets", "--date", "2028-02-30",
        "--reason", "x", AARSHJUL__GENERAL__LANGUAGE="en",
    )  # fmt: skip
    assert "'2028-02-30' does not exist: February 2028 has 29 days" in english.stderr


def test_cli_errors_suggest_cli_commands_not_slack_ones(database_url: str, tmp_path: Path) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    for args in (("hearing", "status", "tolv"), ("hearing", "status", "99")):
        result = cli.refused(*args, says=("'aarshjul hearing list'",))
        assert "/hearing" not in result.stderr, result.stderr
    assert "'aarshjul hearing status 12'" in cli("hearing", "status", "tolv").stderr


def test_an_email_body_carries_no_slack_emoji_codes() -> None:
    from bot.delivery.templates import EmailBody, render_email
    from bot.i18n import t

    closed = t("da", "hearing.msg.closed.text", title="Plan 2027", council="LBR Test")
    assert closed.startswith(":white_check_mark:")  # the Slack text keeps its emoji
    text, page = render_email(
        EmailBody(subject="Høringen er lukket", text=closed + "\nMødet er kl. 09:00:00.")
    )
    assert text.startswith("Høringen Plan 2027 (LBR Test) er lukket.")
    assert ":white_check_mark:" not in text + page and "kl. 09:00:00" in text


def test_outbox_status_says_none_or_the_age_in_days(database_url: str, tmp_path: Path) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    out = cli.ok("outbox", "status")
    assert "Forfaldne og ikke sendt: ingen." in out and "(ældste for -" not in out
    _open_plan(cli)
    later = _later(cli, 6, "outbox", "status")
    assert "den ældste forfaldt for 6 dage siden" in later, later
    assert "min." not in later


def test_remind_plan_marks_overdue_rows_and_keeps_date_order(
    database_url: str, tmp_path: Path
) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    digest = tmp_path / "digest.csv"
    digest.write_text(
        "council,name,email,organisation,role,digest\n"
        "lbr-test,Bo Berg,bo@example.dk,LO,member,ja\n",
        encoding="utf-8",
    )
    cli.ok("members", "import", str(digest))
    _open_plan(cli)
    out = _later(cli, 10, "remind", "plan", "--until", "2027-01-31")
    rows = _rows(out.split("\n\n")[0] if "\n\n" in out else out)
    rows = [r for r in rows if r[:2].isdigit()]
    days = [r.split()[0] for r in rows]
    assert days == sorted(days, key=lambda d: tuple(reversed(d.split(".")))), days
    assert any("ugeoversigt" in r for r in rows)  # the digest is among them, in its place
    overdue = [r for r in rows if r.rstrip().endswith("forfalden")]
    assert overdue, out
    assert all(tuple(reversed(r.split()[0].split("."))) <= ("2026", "12", "03") for r in overdue)
    assert not any(r.rstrip().endswith("venter") and r in overdue for r in rows)
    assert "er forfaldne (status 'forfalden')" in out


def test_no_help_summary_is_cut_at_an_abbreviation() -> None:
    import typer
    from typer._click.utils import make_default_short_help

    from bot.cli import build_cli

    abbreviations = ("pr.", "f.eks.", "bl.a.", "ca.", "evt.", "inkl.", "e.g.", "i.e.", "nr.")

    def walk(command: object, path: tuple[str, ...]):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    cut = []
    for language in ("da", "en"):
        root = typer.main.get_command(build_cli(language=language))
        for path, command in walk(root, ()):
            short = make_default_short_help(getattr(command, "help", None) or "", 10_000)
            if short.split() and short.split()[-1].lower() in abbreviations:
                cut.append(f"{language} {' '.join(path)}: {short}")
    assert cut == []


async def test_the_feed_calendar_is_named_for_both_years(database_url: str, tmp_path: Path) -> None:
    import icalendar

    from bot.services.councils import list_councils
    from bot.services.cycle import instantiate_year
    from bot.services.feeds import feed, feed_token
    from tests.test_meetings import world

    async with world(database_url, tmp_path, None) as (ctx, clock):
        year = ctx.today().year
        async with ctx.db.transaction() as s:
            for council in await list_councils(s):
                for y in (year, year + 1):
                    await instantiate_year(
                        s, council, y, ctx.template, ctx.calendar, now=clock.now(), actor="t"
                    )
            _, token = await feed_token(s, ctx, "lbr-test", rotate=False, actor="t")
        body = await feed(ctx, "lbr-test", token or "")
        assert body is not None
        calendar = icalendar.Calendar.from_ical(body)
        assert str(calendar["X-WR-CALNAME"]) == f"Årshjul {year}–{year + 1} – LBR Test"


# Point 12: e-mails about hearings and meetings, when the reader cannot answer in Slack.


def _mails(folder: Path) -> list[Message]:
    from email import policy
    from email.parser import BytesParser

    return [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        for p in sorted(folder.glob("*.eml"))
    ]


def _body(mail: Message) -> str:
    part = mail.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


def test_emails_without_slack_say_how_to_answer_by_email_from_the_secretariat(
    database_url: str, tmp_path: Path
) -> None:
    cli = _hearing_cli(database_url, tmp_path)
    cli.env["SLACK_BOT_TOKEN"] = None  # the bot has no Slack: every member reads e-mail
    _open_plan(cli, "--document", "https://example.dk/plan.pdf")
    cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Planseminar",
        "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
    )  # fmt: skip
    cli.ok("seminar", "invite", "1")
    cli.ok("run", "--drain")
    cli.ok("hearing", "close", "1")  # the compiled answers go to the secretariat by e-mail
    cli.ok("run", "--drain")
    mails = _mails(tmp_path / "mail")
    hearing = [m for m in mails if str(m["Subject"]).startswith("Høring: Plan 2027")]
    meeting = [m for m in mails if str(m["Subject"]).startswith("Invitation: Planseminar")]
    assert len(hearing) == 4 and meeting, [str(m["Subject"]) for m in mails]
    for mail in hearing + meeting:
        assert mail["From"].addresses[0].display_name == "LBR Test – sekretariatet"
        assert mail["From"].addresses[0].addr_spec == "aarshjul@example.dk"
        assert str(mail["Reply-To"]) == "lbr@example.dk"
        body = _body(mail)
        for slack_word in ("Slack", "knap", "#lbr-test", "/hearing"):
            assert slack_word not in body, body
    invitation = _body(hearing[0])
    assert "besvar denne e-mail, eller skriv til sekretariatet, lbr@example.dk" in invitation
    assert "https://example.dk/plan.pdf" in invitation
    assert "Accepter / Foreløbig / Afvis" in _body(meeting[0])
    closed = [m for m in mails if str(m["Subject"]).startswith("Høringen er lukket")]
    assert closed and all("#lbr-test" not in _body(m) for m in closed)


def test_with_slack_only_members_without_a_slack_id_get_the_email_way(
    database_url: str, tmp_path: Path
) -> None:
    import asyncio
    import json
    from datetime import date
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from bot.delivery.render import Renderer
    from scheduler.workdays import WorkingCalendar
    from storage.db import Database
    from storage.models import OutboxMessage

    cli = _hearing_cli(database_url, tmp_path)
    extra = tmp_path / "extra.csv"
    extra.write_text("råd,navn,e-mail,rolle\nlbr-test,Eva Eg,eva@example.dk,medlem\n")
    cli.ok("members", "import", str(extra))
    cli.env["SLACK_BOT_TOKEN"] = None
    _open_plan(cli)  # queued as e-mail to everyone; delivered by a bot that has Slack
    renderer = Renderer(ZoneInfo("Europe/Copenhagen"), WorkingCalendar(), slack=True)

    async def bodies_of(addresses: tuple[str, ...]) -> dict[str, str]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                rows = (
                    await session.exec(
                        select(OutboxMessage).where(OutboxMessage.channel == "email")
                    )
                ).all()
                return {
                    r.address: (await renderer.render(session, r, date(2026, 11, 23))).text
                    for r in rows
                    if r.address in addresses
                    and json.loads(r.payload or "{}").get("message") == "hearing.invite"
                }
        finally:
            await db.dispose()

    bodies = asyncio.run(bodies_of(("anne@example.dk", "eva@example.dk")))
    assert "Svar i Slack med knappen" in bodies["anne@example.dk"]  # she has a Slack id
    assert "Slack" not in bodies["eva@example.dk"]
    assert "besvar denne e-mail" in bodies["eva@example.dk"]
