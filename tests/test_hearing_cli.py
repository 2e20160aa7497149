"""``aarshjul hearing …`` end to end in-process, and the hearing closing by itself."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.services.hearing_answers import AnswerInput, record_answer
from bot.services.hearing_lifecycle import close_due_hearings
from storage.models import Hearing, OutboxMessage, Person
from tests.cli_runner import CLOCK, Cli
from tests.slack_world import CONFIG, MEMBERS

CPH = ZoneInfo("Europe/Copenhagen")


def cli_for(database_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(folder=(tmp_path / "mail").as_posix()), encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    cli.ok("members", "import", str(tmp_path / "members.csv"))
    return cli


def test_open_status_list_close_export(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    # CLOCK is Monday 23 November 2026; three weeks and a bit.
    out = cli.ok(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18",
        "--title", "Beskæftigelsesplan 2027", "--document", "https://example.dk/plan.pdf",
        "--subject", "employment_plan",
    )  # fmt: skip
    assert out.strip() == "1"
    status = cli.ok("hearing", "status", "1")
    assert "Høring 1: Beskæftigelsesplan 2027 (LBR Test)" in status
    assert "Svar: 0 af 4" in status and "Dorte Dahl: har ikke svaret" in status
    listed = json.loads(cli.ok("hearing", "list", "--json", "--council", "lbr-test"))
    assert listed == [
        {
            "id": 1,
            "council": "lbr-test",
            "title": "Beskæftigelsesplan 2027",
            "subject": "employment_plan",
            "deadline": "2026-12-18",
            "state": "open",
            "document": "https://example.dk/plan.pdf",
            "invited": 4,
            "answered": 0,
        }
    ]
    assert "lukket med 0 af 4 svar" in cli.ok("hearing", "close", "1")
    md = cli.ok("hearing", "export", "1", "--format", "md")
    assert md.startswith("# Høringssvar: Beskæftigelsesplan 2027\n")
    assert "## Har ikke svaret (4)" in md
    rows = list(csv.DictReader(io.StringIO(cli.ok("hearing", "export", "1", "--format", "csv"))))
    assert [r["name"] for r in rows] == ["Anne Andersen", "Bo Berg", "Carl Clausen", "Dorte Dahl"]
    assert {r["answered"] for r in rows} == {"no"}


def test_bad_input_is_refused_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    base = ("hearing", "open", "--council", "lbr-test", "--title", "Plan")
    cli.refused(*base, "--deadline", "18-12-2026", says=("'18-12-2026'",))
    cli.refused(*base, "--deadline", "2026-11-20", says=("ikke efter i dag",))
    cli.refused(
        "hearing", "open", "--council", "lbr-nope", "--title", "Plan", "--deadline", "2026-12-18",
        says=("lbr-nope",),
    )  # fmt: skip
    cli.refused(*base, "--deadline", "2026-12-18", "--document", "javascript:x", says=("link",))
    cli.refused("hearing", "status", "42", says=("ingen høring med id 42",))
    cli.refused("hearing", "close", "x1", says=("'x1' er ikke et hørings-id",))
    cli.ok(*base, "--deadline", "2026-12-18")
    cli.refused("hearing", "export", "1", "--format", "pdf", says=("'pdf'",))


def test_a_short_hearing_over_christmas_warns_on_stderr(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    result = cli(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-28", "--title", "Jul"
    )  # fmt: skip
    assert result.exit_code == 0 and result.stdout.strip() == "1"
    assert "advarsel: Høringen ligger hen over julen." in result.stderr


async def test_a_hearing_closes_itself_after_its_grace_and_not_before(
    database_url: str, tmp_path: Path
) -> None:
    from bot.config import load_config
    from bot.services.app import open_app
    from scheduler.clock import FixedClock

    # The CLI runs its own event loop: in a thread, beside this test's.
    cli = await asyncio.to_thread(cli_for, database_url, tmp_path)
    await asyncio.to_thread(
        cli.ok,
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-11", "--title", "Plan",
    )  # fmt: skip
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    clock = FixedClock(CLOCK.now())
    async with open_app(config, clock) as ctx:
        # Answered after the deadline (Friday 11 Dec), before the close: late.
        clock.set(datetime(2026, 12, 12, 10, 0, tzinfo=CPH).astimezone(UTC))
        async with ctx.db.transaction() as s:
            bo = (
                await s.execute(select(Person).where(Person.email == "bo@example.dk"))
            ).scalar_one()
            result = await record_answer(s, ctx, 1, bo, AnswerInput("support"))
        assert result.answer.late
        assert await close_due_hearings(ctx) == []  # Saturday: the grace runs to Monday 08:00
        clock.set(datetime(2026, 12, 14, 7, 59, tzinfo=CPH).astimezone(UTC))
        assert await close_due_hearings(ctx) == []
        clock.set(datetime(2026, 12, 14, 8, 0, tzinfo=CPH).astimezone(UTC))
        assert await close_due_hearings(ctx) == [1]
        assert await close_due_hearings(ctx) == []
        async with ctx.db.session() as s:
            hearing = await s.get(Hearing, 1)
            closing = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == "hearing-msg:1",
                            OutboxMessage.key.contains("/closed/"),  # type: ignore[attr-defined]
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert hearing is not None and hearing.state == "closed"
        assert hearing.closed_by == "aarshjul (deadline)"
        assert {r.address for r in closing} >= {"lbr@example.dk"}
        assert clock.now() - hearing.closed_at < timedelta(seconds=1)  # type: ignore[operator]
