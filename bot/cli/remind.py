"""``aarshjul remind plan|sync``: what the reminders will be, and writing them."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, echo_json, echo_table, run
from bot.i18n import format_date, t

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.remind"), no_args_is_help=True)
    app.add_typer(group, name="remind")

    @group.command("plan", help=t(lang, "cli.help.remind_plan"))
    def plan_command(
        until: Annotated[
            str | None, typer.Option("--until", help=t(lang, "cli.help.until"))
        ] = None,
        council: Annotated[
            str | None, typer.Option("--council", help=t(lang, "cli.help.council"))
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from sqlmodel import col, select

            from bot.services.councils import get_council
            from bot.services.cycle import parse_date
            from bot.services.reminders import plan
            from storage.models import OutboxMessage

            language = ctx.language
            last = parse_date(until) if until else None
            async with ctx.db.session() as session:
                ids = None
                if council:
                    ids = [(await get_council(session, council)).id]
                planned = await plan(session, ctx, ids, digests=council is None)
                states: dict[str, str] = {}
                keys = [p.key for p in planned]
                for start in range(0, len(keys), 500):
                    rows = await session.execute(
                        select(OutboxMessage.key, OutboxMessage.state).where(
                            col(OutboxMessage.key).in_(keys[start : start + 500])
                        )
                    )
                    states.update({k: s for k, s in rows})
            now = ctx.clock.now()
            shown = [
                p
                for p in planned
                if (last is None or p.due_at.astimezone(ctx.tz).date() <= last)
                and states.get(p.key) not in ("sent", "skipped", "failed")
            ]
            # One timeline: what is overdue first, the weekly digests among the rest.
            shown.sort(key=lambda p: (p.due_at, p.key))
            if as_json:
                echo_json(
                    [
                        {
                            "due": p.due_at.astimezone(ctx.tz).isoformat(),
                            "kind": p.kind.value,
                            "channel": p.channel,
                            "to": p.address,
                            "what": p.params.get(f"title_{language}", p.message),
                            "deadline": p.params.get("deadline"),
                            "key": p.key,
                            "state": states.get(p.key, "new"),
                            "overdue": p.due_at < now,
                        }
                        for p in shown
                    ]
                )
                return
            if not shown:
                typer.echo(t(language, "remind.plan.none"))
                return
            rows = []
            for p in shown:
                due = p.due_at.astimezone(ctx.tz)
                deadline = p.params.get("deadline")
                rows.append(
                    [
                        f"{format_date(due.date(), language)} {due:%H:%M}",
                        t(language, f"remind.kind.{p.kind.value}"),
                        p.channel,
                        p.address,
                        str(
                            p.params.get(f"title_{language}")
                            or t(language, f"remind.kind.{p.kind.value}")
                        ),
                        format_date(parse_date(deadline), language) if deadline else "-",
                        t(language, "remind.state.overdue")
                        if p.due_at < now
                        else t(language, f"remind.state.{states.get(p.key, 'new')}"),
                    ]
                )
            echo_table(
                [
                    t(language, f"remind.col.{c}")
                    for c in ("due", "kind", "channel", "to", "what", "deadline", "state")
                ],
                rows,
            )
            typer.echo(t(language, "remind.plan.total", count=len(shown)))
            overdue = sum(1 for p in shown if p.due_at < now)
            if overdue:
                typer.echo(t(language, "remind.plan.overdue", count=overdue))

        run(state, body)

    @group.command("sync", help=t(lang, "cli.help.remind_sync"))
    def sync_command() -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.reminders import sync_reminders

            async with ctx.db.transaction() as session:
                result = await sync_reminders(session, ctx)
            r = result.report
            typer.echo(
                t(
                    ctx.language,
                    "remind.sync.done",
                    planned=result.planned,
                    inserted=r.inserted,
                    updated=r.updated,
                    withdrawn=r.withdrawn,
                )
            )

        run(state, body)
