"""``aarshjul members import|list``: the people on each council."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, read_import, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.members"), no_args_is_help=True)
    app.add_typer(group, name="members")

    @group.command("import", help=t(lang, "cli.help.members_import"))
    def import_command(
        file: Annotated[Path, typer.Argument(help=t(lang, "cli.help.csv_file"))],
        strict: Annotated[bool, typer.Option("--strict", help=t(lang, "cli.help.strict"))] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help=t(lang, "cli.help.dry_run"))
        ] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
        rename: Annotated[bool, typer.Option("--rename", help=t(lang, "cli.help.rename"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> int:
            from bot.services.members import import_members
            from bot.services.reminders import sync_reminders

            language = ctx.language
            limits = ctx.config.settings.limits
            data = read_import(file, limits.import_max_mb, language)
            async with ctx.db.session() as session:
                report = await import_members(
                    session,
                    data,
                    now=ctx.clock.now(),
                    actor=actor(by),
                    language=language,
                    strict=strict,
                    rename=rename,
                    max_cell=limits.cell_max_chars,
                    max_rows=limits.import_max_rows,
                )
                keep = not dry_run and not (strict and report.rejected)
                if keep:
                    # New members get their reminders, departed ones lose theirs.
                    await sync_reminders(session, ctx)
                    await session.commit()
                else:
                    await session.rollback()
            for line in report.lines:
                typer.echo(
                    t(language, "members.line", line=line.line, text=line.text),
                    err=line.outcome == "rejected",
                )
            typer.echo(
                t(
                    language,
                    "members.summary",
                    added=report.count("added"),
                    updated=report.count("updated"),
                    unchanged=report.count("unchanged"),
                    rejected=report.rejected,
                )
            )
            if not keep:
                typer.echo(
                    t(
                        language,
                        "members.nothing_saved_dry" if dry_run else "members.nothing_saved_strict",
                    )
                )
            return 1 if report.rejected else 0

        run(state, body)

    @group.command("list", help=t(lang, "cli.help.members_list"))
    def list_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.councils import get_council
            from bot.services.members import list_members

            language = ctx.language
            async with ctx.db.session() as session:
                found = await get_council(session, council)
                members = await list_members(session, found)
            if as_json:
                echo_json([m.__dict__ for m in members])
                return
            echo_table(
                [
                    t(language, f"members.col.{c}")
                    for c in (
                        "name",
                        "email",
                        "role",
                        "organisation",
                        "slack_id",
                        "notify",
                        "digest",
                        "language",
                    )
                ],
                [
                    [
                        m.name,
                        m.email,
                        t(language, f"role.{m.role}"),
                        m.organisation or "",
                        m.slack_id or "",
                        m.notify,
                        t(language, "members.yes" if m.digest else "members.no"),
                        m.language or t(language, "members.default_language"),
                    ]
                    for m in members
                ],
            )

        run(state, body)
