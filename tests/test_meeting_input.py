"""What a secretary types for a meeting: the repeated autumn hour is refused naming
both possible times, and a closed day (Maundy Thursday, Easter Monday) is warned about
at the terminal and on stderr, as a hearing's deadline is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_cli
from bot.i18n import error_text
from bot.services.meetings import parse_local
from scheduler.errors import InputError
from tests.cli_runner import CLOCK, Cli
from tests.conftest import snapshot_url
from tests.test_meetings import CONFIG, MEMBERS, SENDER, world


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", ("02:30 +02:00 (00:30 UTC)", "02:30 +01:00 (01:30 UTC)", "twice")),
        ("da", ("02:30 +02:00 (00:30 UTC)", "02:30 +01:00 (01:30 UTC)", "to gange")),
    ],
)
async def test_the_repeated_autumn_hour_is_refused_naming_both_times(
    database_url: str, tmp_path: Path, language: str, says: tuple[str, ...]
) -> None:
    async with world(database_url, tmp_path, None) as (ctx, _):
        with pytest.raises(InputError) as refused:
            parse_local("2027-10-31 02:30", ctx, "--start")
        assert refused.value.key == "meeting.error.ambiguous_time"
        text = error_text(refused.value, language)
        for part in says:
            assert part in text, text
        assert "--start '2027-10-31 02:30'" in text
        # Either side of the repeated hour is one instant, as before.
        assert parse_local("2027-10-31 01:59", ctx, "--start") == datetime(
            2027, 10, 30, 23, 59, tzinfo=UTC
        )
        assert parse_local("2027-10-31 03:00", ctx, "--start") == datetime(
            2027, 10, 31, 2, 0, tzinfo=UTC
        )


def cli_world(tmp_path: Path, database_url: str) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(backend="file", port=25, sender=SENDER, folder="mail"), encoding="utf-8"
    )
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    cli.ok("members", "import", str(tmp_path / "members.csv"))
    return cli


def test_the_cli_refuses_the_repeated_hour_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_world(tmp_path, database_url)
    cli.refused(
        "seminar", "create", "--council", "lbr-test", "--title", "Seminar",
        "--start", "2027-10-31 02:30", "--end", "2027-10-31 04:00",
        says=("02:30 +02:00 (00:30 UTC)", "02:30 +01:00 (01:30 UTC)"),
    )  # fmt: skip


CREATE = (
    "seminar", "create", "--council", "lbr-test", "--title", "Seminar",
    "--start", "2027-03-25 09:00", "--end", "2027-03-25 15:00",
)  # fmt: skip


def test_a_closed_day_is_warned_about_and_asked_at_a_terminal(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_world(tmp_path, database_url)
    monkeypatch.setattr("bot.cli.common.at_terminal", lambda: True)
    app = build_cli(clock=CLOCK)
    before = snapshot_url(database_url)
    said_no = CliRunner().invoke(app, list(CREATE), input="n\n", env=cli.env)
    assert said_no.exit_code == 1, said_no.output
    assert "advarsel: Mødet ligger på en lukkedag: torsdag den 25. marts 2027 (Skærtorsdag)." in (
        said_no.stderr
    )
    assert "Opret mødet alligevel?" in said_no.stderr and "tilføj --yes" in said_no.stderr
    assert snapshot_url(database_url) == before
    # --yes goes ahead without asking; the warning is still printed.
    created = CliRunner().invoke(app, [*CREATE, "--yes"], env=cli.env)
    assert created.exit_code == 0, created.output
    assert "Skærtorsdag" in created.stderr and "alligevel?" not in created.stderr
    meeting_id = created.stdout.strip()
    # Moving it to Easter Monday asks again (in English here); yes at the prompt moves it.
    moved = CliRunner().invoke(
        build_cli(clock=CLOCK, language="en"),
        ["seminar", "update", meeting_id, "--start", "2027-03-29 10:00"],
        input="y\n",
        env={**cli.env, "AARSHJUL__GENERAL__LANGUAGE": "en"},
    )
    assert moved.exit_code == 0, moved.output
    assert "Monday 29 March 2027 (Easter Monday)" in moved.stderr, moved.stderr
    assert "Move the meeting anyway?" in moved.stderr
    # A working day: no warning, no question.
    quiet = CliRunner().invoke(
        app, ["seminar", "update", meeting_id, "--start", "2027-03-30 10:00"], env=cli.env
    )
    assert quiet.exit_code == 0 and "advarsel" not in quiet.stderr, quiet.output


def test_in_a_script_the_closed_day_is_warned_on_stderr_and_the_meeting_is_made(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_world(tmp_path, database_url)
    result = cli(*CREATE)
    assert result.exit_code == 0, result.output
    assert "advarsel: Mødet ligger på en lukkedag" in result.stderr
