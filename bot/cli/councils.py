"""``aarshjul councils list``: which councils the database knows."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.councils"), no_args_is_help=True)
    app.add_typer(group, name="councils")

    @group.command("feed", help=t(lang, "cli.help.councils_feed"))
    def feed_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        rotate: Annotated[
            bool, typer.Option("--rotate", help=t(lang, "cli.help.councils_feed_rotate"))
        ] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.feeds import feed_token

            async with ctx.db.transaction() as session:
                found, token = await feed_token(
                    session, ctx, council, rotate=rotate, actor=actor(by)
                )
            server = ctx.config.settings.server
            typer.echo(f"/calendar/{found.key}.ics?token={token}")
            typer.echo(
                t(
                    ctx.language,
                    "councils.feed.hint",
                    url=f"http://{server.host}:{server.port}/calendar/{found.key}.ics?token={token}",
                ),
                err=True,
            )

        run(state, body)

    @group.command("overview-link", help=t(lang, "overview.help.link"))
    def overview_link_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "overview.help.council"))],
        rotate: Annotated[
            bool, typer.Option("--rotate", help=t(lang, "overview.help.rotate"))
        ] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.overview.share import overview_token

            async with ctx.db.transaction() as session:
                found, token = await overview_token(
                    session, ctx, council, rotate=rotate, actor=actor(by)
                )
            server = ctx.config.settings.server
            path = f"/overview/{found.key}?token={token}"
            typer.echo(path)
            typer.echo(
                t(
                    ctx.language,
                    "overview.link_hint",
                    url=f"http://{server.host}:{server.port}{path}",
                ),
                err=True,
            )

        run(state, body)

    @group.command("list", help=t(lang, "cli.help.councils_list"))
    def list_command(
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.councils import list_councils

            async with ctx.db.session() as session:
                councils = await list_councils(session)
            regions = {c.id: c.key for c in councils}
            rows = [
                {
                    "key": c.key,
                    "kind": c.kind,
                    "name": c.name,
                    "region": regions.get(c.region_id) if c.region_id else None,
                    "slack_channel": c.slack_channel,
                    "secretariat_email": c.secretariat_email,
                }
                for c in councils
            ]
            if as_json:
                echo_json(rows)
                return
            cols = ("key", "kind", "name", "region", "slack_channel", "secretariat_email")
            echo_table(
                [t(ctx.language, f"councils.col.{c}") for c in cols],
                [[str(r[c] or "") for c in cols] for r in rows],
            )

        run(state, body)
