"""``aarshjul agenda show|add|move|drop|done|send|export``: meeting agendas without Slack.

The same service functions as the /agenda command; the command line acts with the
secretariat's rights. Items are named by their number as ``agenda show`` lists them.
"""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, run, write_output
from bot.i18n import format_date, t, user_error
from scheduler.errors import InputError

if TYPE_CHECKING:
    from bot.services.agendas.items import AgendaView
    from bot.services.app import AppContext


def _lines(ctx: "AppContext", view: "AgendaView") -> list[str]:
    from bot.services.agendas.render import agenda_sheet, agenda_text

    lang = ctx.language
    m = view.meeting
    head = t(
        lang,
        "agenda.head",
        id=m.id,
        title=m.title,
        council=view.council.name,
        date=format_date(m.start_at.astimezone(ctx.tz).date(), lang, long=True),
    )
    a = view.agenda
    if a.sent_version is not None and a.sent_at is not None:
        sent = t(
            lang,
            "agenda.sent_line",
            version=a.sent_version,
            date=format_date(a.sent_at.astimezone(ctx.tz).date(), lang),
        )
    else:
        sent = t(lang, "agenda.not_sent")
    body = agenda_text(agenda_sheet(view, lang, ctx.tz, ctx.today()))
    return [head, sent, "", *body.rstrip("\n").split("\n")]


def _json(ctx: "AppContext", view: "AgendaView") -> dict[str, object]:
    from bot.services.agendas.render import item_label

    return {
        "meeting": view.meeting.id,
        "council": view.council.key,
        "title": view.meeting.title,
        "start": view.meeting.start_at.isoformat(),
        "version": view.agenda.version,
        "sent_version": view.agenda.sent_version,
        "items": [
            {
                "number": n,
                "id": item.id,
                "kind": item.kind,
                "label": item_label(view, item, ctx.language),
                "source": item.source,
                "title": item.title,
                "text": item.text,
                "state": item.state,
                "carried_from": item.carried_from,
            }
            for n, item in enumerate(view.items, start=1)
        ],
    }


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "agenda.help_cli.group"), no_args_is_help=True)
    app.add_typer(group, name="agenda")
    by_opt = typer.Option("--by", help=t(lang, "cli.help.by"))
    meeting_opt = typer.Option("--meeting", help=t(lang, "agenda.help_cli.meeting"))
    item_opt = typer.Option("--item", help=t(lang, "agenda.help_cli.item"))

    @group.command("show", help=t(lang, "agenda.help_cli.show"))
    def show_command(
        meeting: Annotated[str, meeting_opt],
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.items import open_agenda
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                view = await open_agenda(session, ctx, Actor(actor()), meeting)
            if as_json:
                echo_json(_json(ctx, view))
                return
            for line in _lines(ctx, view):
                typer.echo(line)

        run(state, body)

    @group.command("add", help=t(lang, "agenda.help_cli.add"))
    def add_command(
        title: Annotated[str, typer.Option("--title", help=t(lang, "agenda.help_cli.title"))],
        council: Annotated[
            str | None, typer.Option("--council", help=t(lang, "agenda.help_cli.council"))
        ] = None,
        meeting: Annotated[str | None, meeting_opt] = None,
        text: Annotated[str, typer.Option("--text", help=t(lang, "agenda.help_cli.text"))] = "",
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.changes import add_item
            from bot.services.agendas.items import open_agenda
            from bot.services.hearings import Actor
            from storage.models import Council

            async with ctx.db.transaction() as session:
                item, found = await add_item(
                    session,
                    ctx,
                    Actor(actor(by)),
                    title=title,
                    text=text,
                    council_key=council,
                    meeting_id=meeting,
                )
                if found is None:
                    owner = await session.get(Council, item.council_id)
                    said = t(
                        ctx.language,
                        "agenda.added_waiting",
                        council=owner.name if owner else "",
                        title=item.title,
                    )
                else:
                    view = await open_agenda(session, ctx, Actor("aarshjul"), found.id or 0)
                    said = t(
                        ctx.language,
                        "agenda.added",
                        number=view.items.index(item) + 1,
                        meeting=found.id,
                        title=item.title,
                    )
            typer.echo(said)

        run(state, body)

    @group.command("move", help=t(lang, "agenda.help_cli.move"))
    def move_command(
        meeting: Annotated[str, meeting_opt],
        item: Annotated[str, item_opt],
        to: Annotated[str, typer.Option("--to", help=t(lang, "agenda.help_cli.to"))],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.changes import move_item
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                view = await move_item(session, ctx, Actor(actor(by)), meeting, item, to)
            moved = view.item(to)
            typer.echo(
                t(
                    ctx.language,
                    "agenda.moved",
                    title=moved.title,
                    number=view.items.index(moved) + 1,
                    meeting=view.meeting.id,
                )
            )

        run(state, body)

    @group.command("drop", help=t(lang, "agenda.help_cli.drop"))
    def drop_command(
        meeting: Annotated[str, meeting_opt],
        item: Annotated[str, item_opt],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.changes import drop_item
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                dropped, view = await drop_item(session, ctx, Actor(actor(by)), meeting, item)
            typer.echo(
                t(ctx.language, "agenda.dropped", title=dropped.title, meeting=view.meeting.id)
            )

        run(state, body)

    @group.command("done", help=t(lang, "agenda.help_cli.done"))
    def done_command(
        meeting: Annotated[str, meeting_opt],
        item: Annotated[str, item_opt],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.changes import done_item
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                done, _ = await done_item(session, ctx, Actor(actor(by)), meeting, item)
            typer.echo(t(ctx.language, "agenda.done", title=done.title))

        run(state, body)

    @group.command("send", help=t(lang, "agenda.help_cli.send"))
    def send_command(
        meeting: Annotated[str, meeting_opt],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.agendas.sending import send_agenda
            from bot.services.delivery_state import delivery_note
            from bot.services.hearings import Actor

            async with ctx.db.transaction() as session:
                view, queued = await send_agenda(session, ctx, Actor(actor(by)), meeting)
            if not queued:
                typer.echo(t(ctx.language, "agenda.sent_already", meeting=view.meeting.id))
                return
            typer.echo(
                t(
                    ctx.language,
                    "agenda.sent",
                    meeting=view.meeting.id,
                    queued=queued,
                    delivery=await delivery_note(ctx, ctx.language),
                )
            )

        run(state, body)

    @group.command("export", help=t(lang, "agenda.help_cli.export"))
    def export_command(
        meeting: Annotated[str, meeting_opt],
        out: Annotated[
            Path | None, typer.Option("--out", help=t(lang, "documents.help.out"))
        ] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.documents.agenda import agenda_docx
            from bot.services.agendas.items import open_agenda
            from bot.services.agendas.render import agenda_sheet
            from bot.services.hearings import Actor

            if out is None and sys.stdout.isatty():
                raise user_error(InputError, "documents.error.terminal")
            async with ctx.db.transaction() as session:
                view = await open_agenda(session, ctx, Actor(actor()), meeting)
            write_output(agenda_docx(agenda_sheet(view, ctx.language, ctx.tz, ctx.today())), out)

        run(state, body)
