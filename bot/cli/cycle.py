"""``aarshjul cycle show|move|ics``: see, change and export a council's year."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, run, write_stdout
from bot.i18n import format_date, t, weekday_name
from bot.ics import CalendarEntry, cycle_calendar
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.cycle import check_year, move_event, parse_date, preview_year, year_events
from scheduler.reminders import reminder_offsets
from storage.models import Council, CycleEvent


@dataclass(frozen=True)
class _Row:
    """One event of a council-year, stored or previewed, as the CLI shows it."""

    key: str
    date: date
    computed: date
    type: str
    owner: str
    title_da: str
    title_en: str
    status: str
    sequence: int
    override: dict[str, Any] | None

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_da


async def _rows(ctx: AppContext, council: Council, year: int) -> tuple[list[_Row], bool]:
    """The year's events from the database, or computed from the template if not stored."""
    async with ctx.db.session() as session:
        stored: list[CycleEvent] = await year_events(session, council, year)
    if stored:
        return [
            _Row(
                e.template_key,
                e.date,
                e.computed_date,
                e.type,
                e.owner,
                e.title_da,
                e.title_en,
                e.status,
                e.sequence,
                {
                    "date": e.override_date.isoformat(),
                    "by": e.override_by,
                    "at": e.override_at.isoformat() if e.override_at else None,
                    "reason": e.override_reason,
                }
                if e.override_date
                else None,
            )
            for e in stored
        ], True
    preview = preview_year(council, year, ctx.template, ctx.calendar)
    return [
        _Row(
            d.key,
            d.date,
            d.computed,
            d.event.type.value,
            d.event.owner.value,
            d.event.title_da,
            d.event.title_en,
            "planned",
            0,
            None,
        )
        for d in preview
    ], False


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
        async def body(ctx: AppContext) -> None:
            language = ctx.language
            y = check_year(year or ctx.today().year)
            async with ctx.db.session() as session:
                found = await get_council(session, council)
            rows, stored = await _rows(ctx, found, y)
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
                    for c in ("date", "weekday", "event", "owner", "status")
                ],
                [
                    [
                        format_date(r.date, language),
                        weekday_name(r.date, language),
                        r.title(language),
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
        async def body(ctx: AppContext) -> None:
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

    @group.command("ics", help=t(lang, "cli.help.cycle_ics"))
    def ics(
        council: Annotated[str, council_opt],
        year: Annotated[int | None, year_opt] = None,
    ) -> None:
        async def body(ctx: AppContext) -> None:
            language = ctx.language
            y = check_year(year or ctx.today().year)
            async with ctx.db.session() as session:
                found = await get_council(session, council)
            rows, _stored = await _rows(ctx, found, y)
            settings = ctx.config.settings
            conf = settings.council(found.key)
            entries = []
            for r in rows:
                definition = ctx.template.events.get(r.key)
                offsets = (
                    reminder_offsets(
                        definition,
                        conf.reminder_offsets if conf else None,
                        settings.reminders.offsets,
                    )
                    if definition
                    else ()
                )
                description = ""
                if definition:
                    description = (
                        definition.description_en if language == "en" else definition.description_da
                    )
                entries.append(
                    CalendarEntry(
                        key=r.key,
                        title=r.title(language),
                        description=description,
                        owner=r.owner,
                        type=r.type,
                        date=r.date,
                        sequence=r.sequence,
                        reminders=[ctx.calendar.shift_working_days(r.date, -n) for n in offsets],
                    )
                )
            write_stdout(
                cycle_calendar(
                    council_key=found.key,
                    council_name=found.name,
                    year=y,
                    entries=entries,
                    now=ctx.clock.now(),
                    language=language,
                    timezone=settings.general.timezone,
                    send_at=settings.reminders.send_at,
                ).decode("utf-8")
            )

        run(state, body)
