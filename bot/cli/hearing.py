"""``aarshjul hearing open|list|status|close|move|export``: hearings without Slack.

The same service functions as the /hearing command; the command line acts
with the secretariat's rights (it runs on the server, with its database).
"""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import (
    CliState,
    actor,
    echo_json,
    echo_table,
    list_options,
    paged_rows,
    run,
    write_output,
)
from bot.i18n import format_date, t, user_error
from scheduler.errors import InputError

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.hearing"), no_args_is_help=True)
    app.add_typer(group, name="hearing")
    by_opt = typer.Option("--by", help=t(lang, "cli.help.by"))

    @group.command("open", help=t(lang, "cli.help.hearing_open"))
    def open_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        deadline: Annotated[
            str, typer.Option("--deadline", help=t(lang, "cli.help.hearing_deadline"))
        ],
        title: Annotated[str, typer.Option("--title", help=t(lang, "cli.help.hearing_title"))],
        document: Annotated[
            str | None, typer.Option("--document", help=t(lang, "cli.help.hearing_document"))
        ] = None,
        subject: Annotated[
            str, typer.Option("--subject", help=t(lang, "cli.help.hearing_subject"))
        ] = "other",
        yes: Annotated[bool, typer.Option("--yes", help=t(lang, "cli.help.hearing_yes"))] = False,
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> int | None:
            from bot.services.cycle import parse_date
            from bot.services.delivery_state import delivery_note
            from bot.services.hearing_lifecycle import (
                HearingDraft,
                check_draft,
                hearing_warnings,
                open_hearing_once,
            )
            from bot.services.hearings import Actor

            language = ctx.language
            who = Actor(actor(by))
            draft = HearingDraft(
                council_key=council,
                title=title,
                deadline=parse_date(deadline),
                subject=subject.strip().lower(),
                document_url=document,
            )
            async with ctx.db.session() as session:
                await check_draft(session, ctx, who, draft)
            warnings = hearing_warnings(ctx, draft.deadline, language)
            for w in warnings:
                typer.echo(f"{t(language, 'hearing.warn.label')}: {w}", err=True)
            asking = warnings and not yes and sys.stdin.isatty()
            if asking and not typer.confirm(t(language, "hearing.warn.confirm"), err=True):
                typer.echo(t(language, "hearing.open.cancelled"), err=True)
                return 1
            result = await open_hearing_once(ctx, who, draft)
            typer.echo(str(result.hearing.id))
            typer.echo(
                t(
                    language,
                    "hearing.open.done",
                    id=result.hearing.id,
                    council=result.council.name,
                    invitees=result.invitees,
                    date=format_date(result.hearing.deadline, language, long=True),
                    delivery=await delivery_note(ctx, language),
                ),
                err=True,
            )
            return None

        run(state, body)

    listing = list_options(lang)

    @group.command("list", help=t(lang, "cli.help.hearing_list"))
    def list_command(
        council: Annotated[str | None, listing.council] = None,
        as_json: Annotated[bool, listing.json] = False,
        page: Annotated[int, listing.page] = 1,
        every: Annotated[bool, listing.every] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearing_lists import HearingRow, Page, list_hearings

            language = ctx.language
            async with ctx.db.session() as session:

                async def fetch(offset: int, limit: int) -> Page[HearingRow]:
                    return await list_hearings(session, council, offset=offset, limit=limit)

                rows = await paged_rows(fetch, page, every, language)
            if as_json:
                echo_json(
                    [
                        {
                            "id": h.id,
                            "council": c.key,
                            "title": h.title,
                            "subject": h.subject,
                            "deadline": h.deadline.isoformat(),
                            "state": h.state,
                            "document": h.document_url,
                            "invited": invited,
                            "answered": answered,
                        }
                        for h, c, invited, answered in rows
                    ]
                )
                return
            if not rows:
                typer.echo(t(language, "hearing.list.none"))
                return
            echo_table(
                [
                    t(language, f"hearing.col.{c}")
                    for c in ("id", "council", "title", "deadline", "state", "answers")
                ],
                [
                    [
                        str(h.id),
                        c.key,
                        h.title,
                        h.deadline.isoformat(),
                        t(language, f"hearing.state.{h.state}"),
                        f"{answered}/{invited}",
                    ]
                    for h, c, invited, answered in rows
                ],
            )

        run(state, body)

    @group.command("status", help=t(lang, "cli.help.hearing_status"))
    def status_command(
        hearing_id: Annotated[
            str, typer.Argument(metavar="ID", help=t(lang, "cli.help.hearing_id"))
        ],
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearings import hearing_status, status_lines

            async with ctx.db.session() as session:
                status = await hearing_status(session, ctx, hearing_id)
            for line in status_lines(status, ctx.language):
                typer.echo(line)

        run(state, body)

    @group.command("close", help=t(lang, "cli.help.hearing_close"))
    def close_command(
        hearing_id: Annotated[
            str, typer.Argument(metavar="ID", help=t(lang, "cli.help.hearing_id"))
        ],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.delivery_state import delivery_note
            from bot.services.hearing_lifecycle import close_hearing
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                status = await close_hearing(session, ctx, Actor(actor(by)), hearing_id)
            typer.echo(
                t(
                    ctx.language,
                    "hearing.close.done",
                    id=status.hearing.id,
                    answered=len(status.answered),
                    invited=len(status.seats),
                    delivery=await delivery_note(ctx, ctx.language),
                )
            )

        run(state, body)

    @group.command("move", help=t(lang, "cli.help.hearing_move"))
    def move_command(
        hearing_id: Annotated[
            str, typer.Argument(metavar="ID", help=t(lang, "cli.help.hearing_id"))
        ],
        deadline: Annotated[
            str, typer.Option("--deadline", help=t(lang, "cli.help.hearing_deadline"))
        ],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import parse_date
            from bot.services.hearing_lifecycle import move_deadline
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                hearing, old = await move_deadline(
                    session, ctx, Actor(actor(by)), hearing_id, parse_date(deadline)
                )
            typer.echo(
                t(
                    ctx.language,
                    "hearing.move.done",
                    id=hearing.id,
                    old=format_date(old, ctx.language, long=True),
                    new=format_date(hearing.deadline, ctx.language, long=True),
                )
            )

        run(state, body)

    @group.command("export", help=t(lang, "cli.help.hearing_export"))
    def export_command(
        hearing_id: Annotated[
            str, typer.Argument(metavar="ID", help=t(lang, "cli.help.hearing_id"))
        ],
        fmt: Annotated[
            str, typer.Option("--format", help=t(lang, "cli.help.hearing_format"))
        ] = "md",
        out: Annotated[
            Path | None, typer.Option("--out", help=t(lang, "documents.help.out"))
        ] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearing_export import export_hearing

            if out is None and fmt.lower() == "docx" and sys.stdout.isatty():
                raise user_error(InputError, "documents.error.terminal")
            async with ctx.db.session() as session:
                data = await export_hearing(session, ctx, hearing_id, fmt.lower(), ctx.language)
            write_output(data, out)

        run(state, body)
