"""``aarshjul outbox status|retry`` and ``aarshjul run``: the delivery side."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, fail, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext

log = logging.getLogger("aarshjul.run")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.outbox"), no_args_is_help=True)
    app.add_typer(group, name="outbox")

    @group.command("status", help=t(lang, "cli.help.outbox_status"))
    def status_command(
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from storage import outbox

            language = ctx.language
            now = ctx.clock.now()
            async with ctx.db.session() as session:
                st = await outbox.status(session, now=now)
            age = (now - st.oldest_due).total_seconds() if st.oldest_due else None
            if as_json:
                echo_json(
                    {
                        "counts": st.counts,
                        "backlog": st.backlog,
                        "oldest_due_age_seconds": age,
                        "failed": [
                            {
                                "id": r.id,
                                "key": r.key,
                                "channel": r.channel,
                                "address": r.address,
                                "attempts": r.attempts,
                                "error": r.last_error,
                                "updated_at": r.updated_at.isoformat(),
                            }
                            for r in st.failed
                        ],
                        "workers": [
                            {
                                "id": w.id,
                                "host": w.host,
                                "pid": w.pid,
                                "started": w.started.isoformat(),
                                "last_seen": w.last_seen.isoformat(),
                                "last_seen_age_seconds": (now - w.last_seen).total_seconds(),
                                "rows_held": w.held,
                            }
                            for w in st.workers
                        ],
                    }
                )
                return
            typer.echo(t(language, "outbox.status.counts", **st.counts))
            if st.backlog and age is not None:
                from bot.i18n import format_age

                ago = format_age(age, language)
                typer.echo(t(language, "outbox.status.backlog", backlog=st.backlog, age=ago))
            else:
                typer.echo(t(language, "outbox.status.backlog_none"))
            if st.workers:
                typer.echo("")
                typer.echo(t(language, "outbox.status.workers_title"))
                echo_table(
                    [t(language, f"outbox.col.{c}") for c in ("worker", "last_seen", "held")],
                    [
                        [
                            w.id,
                            t(
                                language,
                                "outbox.status.seconds_ago",
                                seconds=f"{(now - w.last_seen).total_seconds():.0f}",
                            ),
                            str(w.held),
                        ]
                        for w in st.workers
                    ],
                )
            if st.failed:
                typer.echo("")
                typer.echo(t(language, "outbox.status.failed_title"))
                echo_table(
                    [
                        t(language, f"outbox.col.{c}")
                        for c in ("id", "channel", "to", "tries", "error")
                    ],
                    [
                        [
                            str(r.id),
                            r.channel,
                            r.address,
                            str(r.attempts),
                            (r.last_error or "-").splitlines()[0][:80],
                        ]
                        for r in st.failed
                    ],
                )
                typer.echo(t(language, "outbox.status.retry_hint"))

        run(state, body)

    @group.command("retry", help=t(lang, "cli.help.outbox_retry"))
    def retry_command(
        row_id: Annotated[int, typer.Argument(metavar="ID", help=t(lang, "cli.help.outbox_id"))],
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.delivery_state import delivery_note
            from storage import audit, outbox

            language = ctx.language
            now = ctx.clock.now()
            async with ctx.db.transaction() as session:
                row = await outbox.get(session, row_id)
                if row is None:
                    fail(t(language, "outbox.retry.unknown", id=row_id), language)
                if row.state not in (outbox.FAILED, outbox.SKIPPED):
                    fail(
                        t(language, "outbox.retry.wrong_state", id=row_id, state=row.state),
                        language,
                    )
                previous = row.state
                await outbox.retry(session, row, now=now)
                audit.record(
                    session,
                    at=now,
                    actor=actor(by),
                    action="outbox.retry",
                    entity="outbox",
                    entity_id=row_id,
                    key=row.key,
                    previous_state=previous,
                )
            note = await delivery_note(ctx, language)
            typer.echo(t(language, "outbox.retry.done", id=row_id, to=row.address, delivery=note))

        run(state, body)

    @app.command("run", help=t(lang, "cli.help.run"))
    def run_command(
        host: Annotated[str | None, typer.Option("--host", help=t(lang, "cli.help.host"))] = None,
        port: Annotated[int | None, typer.Option("--port", help=t(lang, "cli.help.port"))] = None,
        drain_only: Annotated[
            bool, typer.Option("--drain", help=t(lang, "cli.help.drain"))
        ] = False,
        log_format: Annotated[
            str, typer.Option("--log-format", help=t(lang, "cli.help.log_format"))
        ] = "text",
        log_level: Annotated[
            str, typer.Option("--log-level", help=t(lang, "cli.help.log_level"))
        ] = "INFO",
        mode: Annotated[str, typer.Option("--mode", help=t(lang, "cli.help.mode"))] = "auto",
    ) -> None:
        # The delivery stack (Slack, aiohttp, the timer) loads only for ``run``.
        from bot.observability import configure_logging, log_event
        from bot.runner import drain, serve

        if log_format not in ("text", "json"):
            fail(t(lang, "outbox.run.bad_log_format", value=log_format), lang)
        if log_level.upper() not in LOG_LEVELS:
            levels = ", ".join(LOG_LEVELS)
            fail(t(lang, "outbox.run.bad_log_level", value=log_level, levels=levels), lang)
        configure_logging(log_level, log_format)

        async def body(ctx: "AppContext") -> None:
            server = ctx.config.settings.server
            if drain_only:
                report = await drain(ctx)
                log_event(
                    log,
                    "drained",
                    sent=report.sent,
                    retried=report.retried,
                    failed=report.failed,
                    skipped=report.skipped,
                    reclaimed=len(report.reclaimed),
                )
                return
            await serve(
                ctx,
                host=host or server.host,
                port=server.port if port is None else port,
                mode=mode.strip().lower(),
            )

        try:
            # Start-up migrates and loads config.toml itself (as init does), so a
            # fresh volume or clone runs; --drain only works on what is there.
            run(state, body, require_schema=drain_only)
        except KeyboardInterrupt:  # pragma: no cover - a second Ctrl-C
            raise typer.Exit(130) from None
