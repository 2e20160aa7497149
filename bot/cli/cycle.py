"""``aarshjul cycle show|move|ics``: see, change and export a council's year."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, run, write_stdout
from bot.i18n import format_date, t, weekday_name

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.cycle"), no_args_is_help=True)
    app.add_typer(group, name="cycle")
    council_opt = typer.Option("--council", help=t(lang, "cli.help.council"))
    year_opt = typer.Option("--year", help=t(lang, "cli.help.year"))

    @group.command("show", help=t(lang, "cli.help.cycle_show"))
    def show(
        council: Annotated[str, council_opt],
        year: Annotated[int | None, year_opt] = None,
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import council_year

            language = ctx.language
            view = await council_year(ctx, council, year)
            found, y, rows, stored = view.council, view.year, view.entries, view.stored
            today = ctx.today()
            if as_json:
                echo_json(
                    {
                        "council": found.key,
                        "council_name": found.name,
                        "kind": found.kind,
                        "year": y,
                        "stored": stored,
                        "events": [
                            {
                                "key": r.key,
                                "date": r.date.isoformat(),
                                "weekday": weekday_name(r.date, language),
                                "title": r.title(language),
                                "title_da": r.title_da,
                                "title_en": r.title_en,
                                "type": r.type,
                                "owner": r.owner,
                                "status": r.status,
                                "passed": r.date < today,
                                "computed_date": r.computed.isoformat(),
                                "override": r.override,
                            }
                            for r in rows
                        ],
                    }
                )
                return
            typer.echo(t(language, "cycle.show.title", council=found.name, key=found.key, year=y))
            typer.echo("")
            echo_table(
                [
                    t(language, f"cycle.show.col.{c}")
                    for c in ("date", "weekday", "event", "key", "owner", "status")
                ],
                [
                    [
                        format_date(r.date, language),
                        weekday_name(r.date, language),
                        r.title(language),
                        r.key,
                        t(language, f"owner.{r.owner}"),
                        t(language, "status.passed")
                        if r.date < today
                        else t(language, f"status.{r.status}"),
                    ]
                    for r in rows
                ],
            )
            if not stored:
                typer.echo("")
                typer.echo(t(language, "cycle.show.not_stored", year=y))

        run(state, body)

    @group.command("move", help=t(lang, "cli.help.cycle_move"))
    def move(
        council: Annotated[str, council_opt],
        event: Annotated[str, typer.Option("--event", help=t(lang, "cli.help.event"))],
        new_date: Annotated[str, typer.Option("--date", help=t(lang, "cli.help.date"))],
        reason: Annotated[str, typer.Option("--reason", help=t(lang, "cli.help.reason"))],
        year: Annotated[
            int | None, typer.Option("--year", help=t(lang, "cli.help.move_year"))
        ] = None,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.councils import get_council
            from bot.services.cycle import check_year, move_event, parse_date
            from bot.services.reminders import sync_reminders

            language = ctx.language
            target = parse_date(new_date)
            y = check_year(year or target.year)
            async with ctx.db.transaction() as session:
                found = await get_council(session, council)
                result = await move_event(
                    session,
                    found,
                    y,
                    event.strip(),
                    target,
                    reason,
                    ctx.template,
                    ctx.calendar,
                    now=ctx.clock.now(),
                    actor=actor(by),
                    language=language,
                )
                # Its reminders move with it, in the same transaction.
                await sync_reminders(session, ctx, [found.id])
            titles = {k: e.title(language) for k, e in ctx.template.events.items()}
            typer.echo(
                t(
                    language,
                    "cycle.move.done",
                    event=titles[event.strip()],
                    old=format_date(result.old, language, long=True),
                    new=format_date(target, language, long=True),
                )
            )
            for f in result.followers:
                typer.echo(
                    t(
                        language,
                        "cycle.move.follower",
                        event=titles.get(f.key, f.key),
                        old=format_date(f.old, language),
                        new=format_date(f.new, language),
                    )
                )

        run(state, body)

    @group.command("done", help=t(lang, "cycle_done.help"))
    def done(
        council: Annotated[str, council_opt],
        event: Annotated[str, typer.Option("--event", help=t(lang, "cli.help.event"))],
        year: Annotated[int | None, typer.Option("--year", help=t(lang, "cli.help.year"))] = None,
        undo: Annotated[bool, typer.Option("--undo", help=t(lang, "cycle_done.undo"))] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import check_year
            from bot.services.cycle_status import mark_done

            language = ctx.language
            y = check_year(year or ctx.today().year)
            async with ctx.db.transaction() as session:
                result = await mark_done(
                    session,
                    ctx,
                    council,
                    event.strip(),
                    y,
                    undo=undo,
                    actor=actor(by),
                    language=language,
                )
            e = result.event
            typer.echo(
                t(
                    language,
                    "cycle_done.undone" if undo else "cycle_done.done",
                    event=e.title_en if language == "en" else e.title_da,
                    date=format_date(e.date, language),
                    withdrawn=result.changed,
                )
            )

        run(state, body)

    @group.command("ics", help=t(lang, "cli.help.cycle_ics"))
    def ics(
        council: Annotated[str, council_opt],
        year: Annotated[int | None, year_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import council_year, year_calendar

            view = await council_year(ctx, council, year)
            write_stdout(year_calendar(ctx, view).decode("utf-8"))

        run(state, body)

    from bot.cli.wheel import register as register_wheel

    register_wheel(group, state)
