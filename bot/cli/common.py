"""What every CLI command shares: loading config, running a use case, printing, failing."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer

from bot.config import Config, load_config
from bot.i18n import error_text, t
from bot.services.app import AppContext, open_app
from scheduler.clock import Clock, SystemClock
from scheduler.errors import AarshjulError


@dataclass
class CliState:
    """Built once per process; tests build their own with a fixed clock."""

    clock: Clock = field(default_factory=SystemClock)
    language: str = "da"
    #: Loaded once at start-up when it could be; otherwise each command loads it and
    #: reports what is wrong with it.
    config: Config | None = None


def try_load_config() -> Config | None:
    """The configuration, or None if it is broken (the command will say why)."""
    try:
        return load_config()
    except AarshjulError:
        return None


def actor(by: str | None = None) -> str:
    """Who is acting, for the audit log: ``--by`` or the operating-system user."""
    if by and by.strip():
        return by.strip()[:200]
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # getpass raises various errors without a user database
        return "cli"


def fail(message: str, language: str) -> NoReturn:
    typer.echo(f"{t(language, 'cli.error')}: {message}", err=True)
    raise typer.Exit(1)


def run(
    state: CliState,
    body: Callable[[AppContext], Awaitable[int | None]],
    *,
    require_schema: bool = True,
) -> None:
    """Load the configuration, open the app, run ``body``; turn our errors into exit 1."""
    try:
        config: Config = state.config or load_config()
    except AarshjulError as exc:
        fail(error_text(exc, state.language), state.language)
    language = config.settings.general.language.value

    async def go() -> int | None:
        async with open_app(config, state.clock) as app:
            if require_schema:
                await app.db.check_schema()
            return await body(app)

    try:
        code = asyncio.run(go())
    except AarshjulError as exc:
        fail(error_text(exc, language), language)
    if code:
        raise typer.Exit(code)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Plain aligned columns: readable in a terminal, greppable in a script."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    typer.echo(line(headers))
    typer.echo(line(["-" * w for w in widths]))
    for row in rows:
        typer.echo(line(row))


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
