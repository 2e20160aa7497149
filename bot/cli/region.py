"""``aarshjul region overview``: the region's year, one row per LBR (issue 15)."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, echo_json, echo_table, fail, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext

FORMATS = ("text", "csv", "json")


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "overview.help.region"), no_args_is_help=True)
    app.add_typer(group, name="region")

    @group.command("overview", help=t(lang, "overview.help.overview"))
    def overview_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "overview.help.council"))],
        year: Annotated[int | None, typer.Option("--year", help=t(lang, "cli.help.year"))] = None,
        fmt: Annotated[
            str, typer.Option("--format", help=t(lang, "overview.help.format"))
        ] = "text",
    ) -> None:
        if fmt not in FORMATS:
            fail(t(lang, "overview.help.bad_format", format=fmt), lang)

        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import check_year
            from bot.services.overview.export import (
                headers,
                overview_csv,
                overview_dict,
                rows,
                summary_line,
            )
            from bot.services.overview.load import region_overview

            y = check_year(year or ctx.today().year)
            async with ctx.db.session() as session:
                view = await region_overview(
                    session,
                    council,
                    y,
                    today=ctx.today(),
                    tz=ctx.tz,
                    results=ctx.config.settings.results,
                )
            language = ctx.language
            if fmt == "json":
                echo_json(overview_dict(view))
            elif fmt == "csv":
                typer.echo(overview_csv(view, language), nl=False)
            else:
                typer.echo(summary_line(view, language))
                if view.rows:
                    echo_table(headers(view, language), rows(view, language))
                else:
                    typer.echo(t(language, "overview.no_councils"))

        run(state, body)
