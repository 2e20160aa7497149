"""``aarshjul init``: create or upgrade the database and load councils and cycles."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language

    @app.command("init", help=t(lang, "cli.help.init"))
    def init_command(
        year: Annotated[
            list[int] | None, typer.Option("--year", help=t(lang, "cli.help.init_year"))
        ] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from sqlalchemy.engine import make_url

            from bot.services.cycle import check_year
            from bot.services.setup import prepare

            language = ctx.language
            _refuse_without_councils(ctx)
            years = sorted({ctx.today().year, ctx.today().year + 1, *(year or [])})
            for y in years:
                check_year(y)
            report = await prepare(ctx, years, actor=actor())
            synced = report.councils
            created, updated, unchanged, removed = (
                report.created,
                report.updated,
                report.unchanged,
                report.removed,
            )
            location = make_url(ctx.db.url).render_as_string(hide_password=True)
            typer.echo(t(language, "init.database", database=location, source=ctx.config.source))
            typer.echo(
                t(
                    language,
                    "init.councils",
                    added=len(synced.added),
                    updated=len(synced.updated),
                    unchanged=len(synced.unchanged),
                    deactivated=len(synced.deactivated),
                )
            )
            typer.echo(
                t(
                    language,
                    "init.cycles",
                    template=ctx.template.key,
                    years=", ".join(map(str, years)),
                    created=created,
                    updated=updated,
                    unchanged=unchanged,
                    removed=removed,
                )
            )

        run(state, body, require_schema=False)


def _refuse_without_councils(ctx: "AppContext") -> None:
    """Stop ``init`` before it creates anything when no council is configured.

    Without a config.toml (run from another folder, AARSHJUL_CONFIG unset) the built-in
    defaults hold no council: creating an empty database would only hide the mistake.
    """
    if ctx.config.settings.councils:
        return
    from pathlib import Path

    from bot.config import BUILT_IN_SOURCE, CONFIG_ENV
    from bot.i18n import user_error
    from scheduler.errors import ConfigError

    if ctx.config.source == BUILT_IN_SOURCE:
        raise user_error(ConfigError, "init.no_config", folder=Path.cwd(), variable=CONFIG_ENV)
    raise user_error(ConfigError, "init.no_councils", source=ctx.config.source)
