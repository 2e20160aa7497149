"""The ``aarshjul`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import gc

import typer

from bot.cli import agenda as agenda_cli
from bot.cli import councils, cycle, hearing, init, members, outbox, region, remind, seminar
from bot.cli import mail as mail_cli
from bot.cli import recommendation as recommendation_cli
from bot.cli import results as results_cli
from bot.cli.common import CliState, try_load_config
from bot.config import Config
from bot.i18n import t
from scheduler.clock import Clock, SystemClock


def build_cli(
    clock: Clock | None = None, language: str | None = None, config: Config | None = None
) -> typer.Typer:
    """Assemble the command tree; help texts are in the configured language.

    Without ``config`` every command loads the configuration when it runs (tests
    build one app and vary the environment per call).
    """
    if language is None:
        language = config.settings.general.language.value if config else "da"
    state = CliState(clock=clock or SystemClock(), language=language, config=config)
    lang = state.language
    app = typer.Typer(
        name="aarshjul",
        help=t(lang, "cli.help.app"),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def root(
        verbose: bool = typer.Option(False, "-v", "--verbose", help=t(lang, "cli.help.verbose")),
    ) -> None:
        state.debug = verbose

    init.register(app, state)
    cycle.register(app, state)
    members.register(app, state)
    councils.register(app, state)
    remind.register(app, state)
    outbox.register(app, state)
    hearing.register(app, state)
    seminar.register(app, state)
    agenda_cli.register(app, state)
    recommendation_cli.register(app, state)
    mail_cli.register(app, state)
    region.register(app, state)
    results_cli.register(app, state)
    return app


def main() -> None:
    """Console-script entry point: the configuration is read once, here.

    The cyclic garbage collector is off while the command starts (the imports make only
    long-lived objects); ``common.run`` turns it back on once the database stack is
    loaded (see :func:`bot.cli.common.settle_start_up`), and so does leaving here.
    """
    gc.disable()
    try:
        build_cli(config=try_load_config())()
    finally:
        gc.enable()
