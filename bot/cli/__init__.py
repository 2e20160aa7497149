"""The ``aarshjul`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from bot.cli import councils, cycle, init, members
from bot.cli.common import CliState, guess_language
from bot.i18n import t
from scheduler.clock import Clock, SystemClock


def build_cli(clock: Clock | None = None, language: str | None = None) -> typer.Typer:
    """Assemble the command tree; help texts are in the configured language."""
    state = CliState(clock=clock or SystemClock(), language=language or guess_language())
    lang = state.language
    app = typer.Typer(
        name="aarshjul",
        help=t(lang, "cli.help.app"),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    init.register(app, state)
    cycle.register(app, state)
    members.register(app, state)
    councils.register(app, state)
    return app


def main() -> None:
    """Console-script entry point."""
    build_cli()()
