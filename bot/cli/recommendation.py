"""``aarshjul recommendation create|agree|send|answer|list|show``: recommendations
(*indstillinger*) without Slack.

The same service functions as the /recommend command; the command line acts with
the secretariat's rights (it runs on the server, with its database), and records the
answer of a receiver outside the bot (an e-mail address).
"""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, list_options, paged_rows, run
from bot.i18n import format_date, t

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "recommend.cli.group"), no_args_is_help=True)
    app.add_typer(group, name="recommendation")
    by_opt = typer.Option("--by", help=t(lang, "cli.help.by"))
    id_arg = typer.Argument(metavar="ID", help=t(lang, "recommend.cli.id"))

    @group.command("create", help=t(lang, "recommend.cli.create"))
    def create_command(
        sender: Annotated[str, typer.Option("--from", help=t(lang, "recommend.cli.from"))],
        to: Annotated[str, typer.Option("--to", help=t(lang, "recommend.cli.to"))],
        title: Annotated[str, typer.Option("--title", help=t(lang, "recommend.cli.title"))],
        text: Annotated[str, typer.Option("--text", help=t(lang, "recommend.cli.text"))],
        about: Annotated[
            str | None, typer.Option("--about-results", help=t(lang, "recommend.cli.about"))
        ] = None,
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearings import Actor
            from bot.services.recommendations.drafting import (
                RecommendationDraft,
                create_recommendation,
            )
            from bot.services.recommendations.queries import receiver_name

            draft = RecommendationDraft(sender, to, title, text, about or "")
            step = await create_recommendation(ctx, Actor(actor(by)), draft)
            rec = step.recommendation
            typer.echo(str(rec.id))
            typer.echo(
                t(
                    ctx.language,
                    "recommend.created",
                    id=rec.id,
                    sender=step.sender.name,
                    receiver=receiver_name(rec, step.receiver),
                ),
                err=True,
            )

        run(state, body)

    @group.command("agree", help=t(lang, "recommend.cli.agree"))
    def agree_command(
        rec_id: Annotated[str, id_arg],
        meeting: Annotated[
            str | None, typer.Option("--meeting", help=t(lang, "recommend.cli.meeting"))
        ] = None,
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.cycle import parse_date
            from bot.services.delivery_state import delivery_note
            from bot.services.hearings import Actor
            from bot.services.recommendations.agreeing import agree_at_meeting, open_vote
            from bot.services.recommendations.common import quorum, votes_needed

            who = Actor(actor(by))
            language = ctx.language
            if meeting is not None:
                day = parse_date(meeting)
                step = await agree_at_meeting(ctx, who, rec_id, day)
                typer.echo(
                    t(
                        language,
                        "recommend.agreed",
                        id=step.recommendation.id,
                        date=format_date(day, language, long=True),
                    )
                )
                return
            step, seats = await open_vote(ctx, who, rec_id)
            typer.echo(
                t(
                    language,
                    "recommend.vote_opened",
                    id=step.recommendation.id,
                    seats=seats,
                    needed=votes_needed(quorum(ctx), seats),
                    delivery=await delivery_note(ctx, language),
                )
            )

        run(state, body)

    @group.command("send", help=t(lang, "recommend.cli.send"))
    def send_command(
        rec_id: Annotated[str, id_arg], by: Annotated[str | None, by_opt] = None
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.delivery_state import delivery_note
            from bot.services.hearings import Actor
            from bot.services.recommendations.queries import receiver_name
            from bot.services.recommendations.sending import send_recommendation

            step = await send_recommendation(ctx, Actor(actor(by)), rec_id)
            typer.echo(
                t(
                    ctx.language,
                    "recommend.sent",
                    id=step.recommendation.id,
                    receiver=receiver_name(step.recommendation, step.receiver),
                    days=ctx.config.settings.recommendations.answer_days,
                    delivery=await delivery_note(ctx, ctx.language),
                )
            )

        run(state, body)

    @group.command("answer", help=t(lang, "recommend.cli.answer"))
    def answer_command(
        rec_id: Annotated[str, id_arg],
        text: Annotated[str, typer.Option("--text", help=t(lang, "recommend.cli.answer_text"))],
        by: Annotated[str | None, by_opt] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.delivery_state import delivery_note
            from bot.services.hearings import Actor
            from bot.services.recommendations.sending import answer_recommendation

            step = await answer_recommendation(ctx, Actor(actor(by)), rec_id, text)
            typer.echo(
                t(
                    ctx.language,
                    "recommend.answered",
                    id=step.recommendation.id,
                    delivery=await delivery_note(ctx, ctx.language),
                )
            )

        run(state, body)

    listing = list_options(lang)

    @group.command("list", help=t(lang, "recommend.cli.list"))
    def list_command(
        council: Annotated[str | None, listing.council] = None,
        as_json: Annotated[bool, listing.json] = False,
        page: Annotated[int, listing.page] = 1,
        every: Annotated[bool, listing.every] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.hearing_lists import Page
            from bot.services.recommendations.queries import (
                RecommendationRow,
                list_recommendations,
                receiver_key,
                recommendation_json,
            )

            language = ctx.language
            async with ctx.db.session() as session:

                async def fetch(offset: int, limit: int) -> Page[RecommendationRow]:
                    return await list_recommendations(session, council, offset=offset, limit=limit)

                rows = await paged_rows(fetch, page, every, language)
            if as_json:
                echo_json([recommendation_json(r, s, to) for r, s, to in rows])
                return
            if not rows:
                typer.echo(t(language, "recommend.list.none"))
                return

            def day(at: object) -> str:
                return at.astimezone(ctx.tz).date().isoformat() if at else "-"  # type: ignore[attr-defined]

            echo_table(
                [
                    t(language, f"recommend.col.{c}")
                    for c in ("id", "from", "to", "title", "state", "sent", "answered")
                ],
                [
                    [
                        str(r.id),
                        s.key,
                        receiver_key(r, to),
                        r.title,
                        t(language, f"recommend.state.{r.state}"),
                        day(r.sent_at),
                        day(r.answered_at),
                    ]
                    for r, s, to in rows
                ],
            )

        run(state, body)

    @group.command("show", help=t(lang, "recommend.cli.show"))
    def show_command(rec_id: Annotated[str, id_arg]) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.recommendations.queries import detail_lines, recommendation_detail

            async with ctx.db.session() as session:
                detail = await recommendation_detail(session, ctx, rec_id)
            for line in detail_lines(detail, ctx, ctx.language):
                typer.echo(line)

        run(state, body)
