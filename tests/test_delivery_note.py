"""Commands that queue messages say whether they go out now or wait for ``aarshjul run``.

"Sendes nu" while nothing runs was a lie: the rows wait in the outbox until a
worker runs. A worker is alive while its heartbeat is newer than
``outbox.worker_timeout_seconds`` (30 s by default).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from bot.config import load_config
from bot.handlers.hearing_open import opened_text
from bot.services.app import open_app
from storage import outbox
from storage.db import Database
from tests.cli_runner import CLOCK, Cli
from tests.test_hearing_cli import cli_for

WAITING_DA = "Intet 'aarshjul run' kører: de venter i udbakken, til 'aarshjul run' startes"
DRAIN_DA = "'aarshjul run --drain' sender dem én gang"
LIVE_DA = "Et kørende 'aarshjul run' sender dem nu."


def _beat(url: str, *, age: timedelta) -> None:
    """A worker's heartbeat, ``age`` before the CLI's clock."""

    async def go() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await outbox.heartbeat(
                    session, worker="vm:1:cafe", host="vm", pid=1, now=CLOCK.now() - age
                )
        finally:
            await db.dispose()

    asyncio.run(go())


def _open(cli: Cli, language: str = "da") -> str:
    result = cli(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18", "--title", "Plan",
        language=language, AARSHJUL__GENERAL__LANGUAGE=language,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_without_a_running_bot_the_messages_are_said_to_wait(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_for(database_url, tmp_path)
    said = _open(cli)
    assert WAITING_DA in said and DRAIN_DA in said
    assert "sendes nu" not in said and LIVE_DA not in said
    created = cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Seminar",
        "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
    )  # fmt: skip
    invited = cli.ok("seminar", "invite", created.strip())
    assert "er lagt i udbakken" in invited and WAITING_DA in invited
    # A heartbeat older than the timeout is a dead worker: still waiting.
    _beat(database_url, age=timedelta(seconds=31))
    assert WAITING_DA in cli.ok("seminar", "cancel", created.strip())
    closed = cli.ok("hearing", "close", "1")
    assert "er lagt i udbakken. " + WAITING_DA in closed and "sendes til" not in closed


def test_with_a_live_worker_they_are_said_to_go_out_now(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    _beat(database_url, age=timedelta(seconds=5))
    said = _open(cli)
    assert "Opslag og beskeder er lagt i udbakken. " + LIVE_DA in said
    assert WAITING_DA not in said
    created = cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Seminar",
        "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
    )  # fmt: skip
    assert LIVE_DA in cli.ok("seminar", "invite", created.strip())
    updated = cli.ok("seminar", "update", created.strip(), "--location", "Rådhuset")
    assert LIVE_DA in updated


def test_in_english_too(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    said = _open(cli, language="en")
    assert "The announcement and messages are in the outbox." in said
    assert "No 'aarshjul run' is running: they wait in the outbox until 'aarshjul run' starts" in (
        said
    )
    _beat(database_url, age=timedelta(seconds=1))
    assert "A running 'aarshjul run' sends them now." in _open(cli, language="en")


async def test_the_slack_reply_says_the_same(database_url: str, tmp_path: Path) -> None:
    cli = await asyncio.to_thread(cli_for, database_url, tmp_path)
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    async with open_app(config, CLOCK) as ctx:
        result = SimpleNamespace(
            created=True,
            hearing=SimpleNamespace(id=7, deadline=CLOCK.now().date() + timedelta(days=20)),
            council=SimpleNamespace(name="LBR <Test>"),
            invitees=4,
        )
        waiting = await opened_text(ctx, result, "da")
        assert WAITING_DA in waiting and "LBR &lt;Test&gt;" in waiting
        await asyncio.to_thread(_beat, database_url, age=timedelta(seconds=2))
        assert LIVE_DA in await opened_text(ctx, result, "da")
    assert cli.url == database_url
