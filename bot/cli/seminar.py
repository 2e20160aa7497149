"""``aarshjul seminar create|invite|update|cancel|list|attendees|ics``: meetings, invitations."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

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
    write_stdout,
)
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext
    from bot.services.meetings import MeetingView


async def _queued_text(
    ctx: "AppContext", key: str, view: "MeetingView", queued: int, **params: object
) -> str:
    """What was queued for a meeting, and whether it goes out now or waits for
    ``aarshjul run`` (see :mod:`bot.services.delivery_state`)."""
    from bot.services.delivery_state import delivery_note

    note = await delivery_note(ctx, ctx.language)
    return t(ctx.language, key, id=view.meeting.id, queued=queued, delivery=note, **params)


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.seminar"), no_args_is_help=True)
    app.add_typer(group, name="seminar")
    by_opt = typer.Option("--by", help=t(lang, "cli.help.by"))
    id_arg = typer.Argument(metavar="ID", help=t(lang, "cli.help.seminar_id"))

    @group.command("create", help=t(lang, "cli.help.seminar_create"))
    def create_command(
        council: Annotated[
            list[str], typer.Option("--council", help=t(lang, "cli.help.seminar_councils"))
        ],
        title: Annotated[str, typer.Option("--title", help=t(lang, "cli.help.seminar_title"))],
        start: Annotated[str, typer.Option("--start", help=t(lang, "cli.help.seminar_start"))],
        end: Annotated[str, typer.Option("--end", help=t(lang, "cli.help.seminar_end"))],
        location: Annotated[
            str | None, typer.Option("--location", help=t(lang, "cli.help.seminar_location"))
        ] = None,
        url: Annotated[
            str | None, typer.Option("--url", help=t(lang, "cli.help.seminar_url"))
        ] = None,
        agenda: Annotated[
            str, typer.Option("--agenda", help=t(lang, "cli.help.seminar_agenda"))
        ] = "",
        extra: Annotated[
            list[str] | None,
            typer.Option("--invite", help=t(lang, "cli.help.seminar_invite_email")),
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", help=t(lang, "cli.help.seminar_yes"))] = False,
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> int | None:
            from bot.cli.common import go_ahead
            from bot.services.hearings import Actor
            from bot.services.meeting_input import meeting_warnings
            from bot.services.meetings import MeetingDraft, create_meeting, parse_local

            draft = MeetingDraft(
                council_keys=tuple(council),
                title=title,
                start=parse_local(start, ctx, "--start"),
                end=parse_local(end, ctx, "--end"),
                location=location,
                url=url,
                agenda=agenda,
                extra=tuple(extra or ()),
            )
            warnings = meeting_warnings(ctx, draft.start, draft.end, ctx.language)
            question = t(ctx.language, "meeting.warn.confirm_create")
            if not go_ahead(warnings, yes=yes, language=ctx.language, question=question):
                typer.echo(t(ctx.language, "meeting.warn.stopped"), err=True)
                return 1
            async with ctx.db.transaction() as session:
                view = await create_meeting(session, ctx, Actor(actor(by)), draft)
            typer.echo(str(view.meeting.id))
            typer.echo(
                t(
                    ctx.language,
                    "meeting.cli.created",
                    id=view.meeting.id,
                    invitees=len(view.invitees),
                ),
                err=True,
            )
            return None

        run(state, body)

    @group.command("invite", help=t(lang, "cli.help.seminar_send"))
    def invite_command(
        meeting_id: Annotated[str, id_arg], by: Annotated[str | None, by_opt] = None
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearings import Actor
            from bot.services.meetings import invite

            async with ctx.db.transaction() as session:
                view, queued = await invite(session, ctx, Actor(actor(by)), meeting_id)
            typer.echo(await _queued_text(ctx, "meeting.cli.invited", view, queued))

        run(state, body)

    @group.command("update", help=t(lang, "cli.help.seminar_update"))
    def update_command(
        meeting_id: Annotated[str, id_arg],
        start: Annotated[
            str | None, typer.Option("--start", help=t(lang, "cli.help.seminar_start"))
        ] = None,
        end: Annotated[
            str | None, typer.Option("--end", help=t(lang, "cli.help.seminar_end"))
        ] = None,
        location: Annotated[
            str | None, typer.Option("--location", help=t(lang, "cli.help.seminar_location"))
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", help=t(lang, "cli.help.seminar_yes"))] = False,
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> int | None:
            from bot.cli.common import go_ahead
            from bot.services.hearings import Actor
            from bot.services.meeting_input import meeting_warnings, new_times
            from bot.services.meetings import get_meeting, parse_local, update_meeting

            start_at = parse_local(start, ctx, "--start") if start else None
            end_at = parse_local(end, ctx, "--end") if end else None
            if start_at or end_at:
                async with ctx.db.session() as session:
                    current = await get_meeting(session, meeting_id)
                moved = new_times(current, start_at, end_at)
                warnings = meeting_warnings(ctx, *moved, ctx.language)
                question = t(ctx.language, "meeting.warn.confirm_update")
                if not go_ahead(warnings, yes=yes, language=ctx.language, question=question):
                    typer.echo(t(ctx.language, "meeting.warn.stopped"), err=True)
                    return 1
            async with ctx.db.transaction() as session:
                view, queued = await update_meeting(
                    session,
                    ctx,
                    Actor(actor(by)),
                    meeting_id,
                    start=start_at,
                    end=end_at,
                    location=location,
                )
            text = await _queued_text(
                ctx, "meeting.cli.updated", view, queued, sequence=view.meeting.sequence
            )
            typer.echo(text)
            return None

        run(state, body)

    @group.command("cancel", help=t(lang, "cli.help.seminar_cancel"))
    def cancel_command(
        meeting_id: Annotated[str, id_arg], by: Annotated[str | None, by_opt] = None
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearings import Actor
            from bot.services.meetings import cancel_meeting

            async with ctx.db.transaction() as session:
                view, queued = await cancel_meeting(session, ctx, Actor(actor(by)), meeting_id)
            typer.echo(await _queued_text(ctx, "meeting.cli.cancelled", view, queued))

        run(state, body)

    listing = list_options(lang)

    @group.command("list", help=t(lang, "cli.help.seminar_list"))
    def list_command(
        council: Annotated[str | None, listing.council] = None,
        as_json: Annotated[bool, listing.json] = False,
        page: Annotated[int, listing.page] = 1,
        every: Annotated[bool, listing.every] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearing_lists import Page
            from bot.services.meeting_lists import upcoming_meetings
            from storage.models import Council, Meeting

            language = ctx.language
            now = ctx.clock.now()
            async with ctx.db.session() as session:

                async def fetch(offset: int, limit: int) -> Page[tuple[Meeting, Council]]:
                    return await upcoming_meetings(
                        session, now, council_key=council, offset=offset, limit=limit
                    )

                rows = await paged_rows(fetch, page, every, language)
            if as_json:
                echo_json(
                    [
                        {
                            "id": m.id,
                            "council": c.key,
                            "title": m.title,
                            "start": m.start_at.isoformat(),
                            "end": m.end_at.isoformat(),
                            "state": m.state,
                        }
                        for m, c in rows
                    ]
                )
                return
            if not rows:
                typer.echo(t(language, "seminar.none"))
                return
            echo_table(
                [t(language, f"hearing.col.{c}") for c in ("id", "council", "title")]
                + [t(language, "meeting.col.start"), t(language, "hearing.col.state")],
                [
                    [
                        str(m.id),
                        c.key,
                        m.title,
                        f"{m.start_at.astimezone(ctx.tz):%Y-%m-%d %H:%M}",
                        t(language, f"seminar.state.{m.state}"),
                    ]
                    for m, c in rows
                ],
            )

        run(state, body)

    @group.command("attendees", help=t(lang, "cli.help.seminar_attendees"))
    def attendees_command(
        meeting_id: Annotated[str, id_arg],
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.meetings import meeting_view

            language = ctx.language
            async with ctx.db.session() as session:
                view = await meeting_view(session, meeting_id)
            counts = view.counts()
            if as_json:
                echo_json(
                    {
                        "id": view.meeting.id,
                        "title": view.meeting.title,
                        "state": view.meeting.state,
                        "sequence": view.meeting.sequence,
                        "counts": counts,
                        "attendees": [
                            {
                                "name": i.name,
                                "email": i.email,
                                "response": i.response,
                                "source": i.source,
                            }
                            for i in view.invitees
                        ],
                    }
                )
                return
            echo_table(
                [
                    t(language, "members.col.name"),
                    t(language, "members.col.email"),
                    t(language, "hearing.col.answers"),
                    t(language, "inbound_calendar.source.col"),
                ],
                [
                    [
                        i.name,
                        i.email,
                        t(language, f"meeting.response.{i.response}"),
                        t(language, f"inbound_calendar.source.{i.source or 'none'}"),
                    ]
                    for i in view.invitees
                ],
            )
            typer.echo(t(language, "meeting.cli.counts", **counts))

        run(state, body)

    @group.command("ics", help=t(lang, "cli.help.seminar_ics"))
    def ics_command(meeting_id: Annotated[str, id_arg]) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.meetings import current_calendar, meeting_view

            async with ctx.db.session() as session:
                view = await meeting_view(session, meeting_id)
            write_stdout(current_calendar(ctx, view).decode("utf-8"))

        run(state, body)
