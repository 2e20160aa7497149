"""``aarshjul init``: create or upgrade the database and load councils and cycles."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from bot.cli.common import CliState, actor, run
from bot.i18n import t
from bot.services.app import AppContext
from bot.services.cycle import check_year
from bot.services.setup import prepare


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language

    @app.command("init", help=t(lang, "cli.help.init"))
    def init_command(
        year: Annotated[
            list[int] | None, typer.Option("--year", help=t(lang, "cli.help.init_year"))
        ] = None,
    ) -> None:
        async def body(ctx: AppContext) -> None:
            language = ctx.language
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
