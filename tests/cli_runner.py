"""Running ``aarshjul`` in-process with a fixed clock, for the CLI tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from typer.testing import CliRunner, Result

from bot.cli import build_cli
from scheduler.clock import FixedClock
from tests.conftest import snapshot_url

#: Monday 23 November 2026, 09:00 in Copenhagen.
CLOCK = FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


class Cli:
    """Runs ``aarshjul`` in-process against one database and one config file."""

    def __init__(self, database_url: str, config: Path, **env: str | None) -> None:
        self.env: dict[str, str | None] = {
            "DATABASE_URL": database_url,
            "AARSHJUL_CONFIG": str(config),
            **env,
        }
        self.config = config
        self.url = database_url

    def __call__(self, *args: str, language: str = "da", **env: str) -> Result:
        app: typer.Typer = build_cli(clock=CLOCK, language=language)
        return CliRunner().invoke(app, list(args), env={**self.env, **env})

    def refused(self, *args: str, says: tuple[str, ...], **env: str) -> Result:
        """Run a command that must fail: exit 1, each of ``says`` on stderr, no row changed."""
        before = snapshot_url(self.url)
        result = self(*args, **env)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        for text in says:
            assert text in result.stderr
        assert snapshot_url(self.url) == before
        return result

    def ok(self, *args: str, **env: str) -> str:
        result = self(*args, **env)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout
