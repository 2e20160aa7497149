"""``aarshjul results import|show|check|chart``: figures per jobcentre, deviations, charts."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import CliState, actor, echo_json, echo_table, read_import, run
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.app import AppContext
    from bot.services.results.check import Finding


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "results.help.group"), no_args_is_help=True)
    app.add_typer(group, name="results")

    @group.command("import", help=t(lang, "results.help.import"))
    def import_command(
        file: Annotated[Path, typer.Argument(help=t(lang, "results.help.file"))],
        skip_bad: Annotated[
            bool, typer.Option("--skip-bad", help=t(lang, "results.help.skip_bad"))
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help=t(lang, "results.help.dry_run"))
        ] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> int:
            from bot.services.results.alerts import run_check
            from bot.services.results.importing import import_results

            language = ctx.language
            settings = ctx.config.settings
            data = read_import(file, settings.limits.import_max_mb, language)
            async with ctx.db.session() as session:
                report = await import_results(
                    session,
                    data,
                    results=settings.results,
                    councils=settings.councils,
                    now=ctx.clock.now(),
                    actor=actor(by),
                    language=language,
                    skip_bad=skip_bad,
                    dry_run=dry_run,
                    max_cell=settings.limits.cell_max_chars,
                )
                outcome = None
                if report.saved and not dry_run:
                    if report.measures:
                        # In the same transaction: the figures and their alerts commit together.
                        outcome = await run_check(session, ctx, actor=actor(by), known=report)
                    await session.commit()
                else:
                    await session.rollback()
            for bad in report.rejected:
                typer.echo(t(language, "results.cli.line", line=bad.line, text=bad.text), err=True)
            typer.echo(
                t(
                    language,
                    "results.cli.summary",
                    added=report.added,
                    updated=report.updated,
                    unchanged=report.unchanged,
                    rejected=len(report.rejected),
                )
            )
            if dry_run:
                typer.echo(t(language, "results.cli.nothing_saved_dry"))
            elif not report.saved:
                typer.echo(t(language, "results.cli.nothing_saved"), err=True)
            if outcome is not None:
                typer.echo(
                    t(
                        language,
                        "results.cli.checked",
                        found=len(outcome.found),
                        ended=len(outcome.ended),
                        alerts=outcome.alerts,
                    )
                )
            return 1 if report.rejected else 0

        run(state, body)

    @group.command("show", help=t(lang, "results.help.show"))
    def show_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        measure: Annotated[
            str | None, typer.Option("--measure", help=t(lang, "results.help.measure"))
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.councils import get_council
            from bot.services.results.alerts import stored_values

            language = ctx.language
            async with ctx.db.session() as session:
                found = await get_council(session, council)
                rows = await stored_values(session, ctx, found, measure)
            if as_json:
                echo_json(rows)
                return
            if not rows:
                typer.echo(t(language, "results.cli.no_values", council=found.name))
                return
            echo_table(
                [t(language, f"results.cli.col.{c}") for c in ("measure", "period", "value")],
                [[r["measure"], r["period"], _number(r["value"], language)] for r in rows],
            )

        run(state, body)

    @group.command("check", help=t(lang, "results.help.check"))
    def check_command(
        period: Annotated[
            str | None, typer.Option("--period", help=t(lang, "results.help.period"))
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help=t(lang, "cli.help.json"))] = False,
        by: Annotated[str | None, typer.Option("--by", help=t(lang, "cli.help.by"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.i18n import user_error
            from bot.services.results.alerts import run_check
            from bot.services.results.periods import parse_period
            from scheduler.errors import InputError

            language = ctx.language
            until = None
            if period is not None:
                until = parse_period(period)
                if until is None:
                    raise user_error(InputError, "results.error.bad_period", period=period)
            async with ctx.db.session() as session:
                outcome = await run_check(session, ctx, until=until, actor=actor(by))
                await session.commit()
            rows = [finding_json(f, ctx) for f in outcome.findings]
            if as_json:
                echo_json(rows)
                return
            if not rows:
                typer.echo(t(language, "results.cli.no_deviations"))
            else:
                echo_table(
                    [
                        t(language, f"results.cli.col.{c}")
                        for c in (
                            "jobcentre",
                            "measure",
                            "period",
                            "value",
                            "mean",
                            "deviation",
                            "since",
                            "threshold",
                        )
                    ],
                    [
                        [
                            r["jobcentre"],
                            r["measure"],
                            r["period"],
                            _number(r["value"], language),
                            _number(r["group_mean"], language),
                            _deviation(r, language),
                            r["since"],
                            _threshold(r, language),
                        ]
                        for r in rows
                    ],
                )
            if until is None:
                typer.echo(
                    t(
                        language,
                        "results.cli.checked",
                        found=len(outcome.found),
                        ended=len(outcome.ended),
                        alerts=outcome.alerts,
                    )
                )

        run(state, body)

    @group.command("chart", help=t(lang, "results.help.chart"))
    def chart_command(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        measure: Annotated[str, typer.Option("--measure", help=t(lang, "results.help.measure"))],
        out: Annotated[Path | None, typer.Option("--out", help=t(lang, "results.help.out"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            import io

            from PIL import Image

            from bot.i18n import user_error
            from bot.services.results.alerts import chart_for
            from scheduler.errors import InputError

            language = ctx.language
            async with ctx.db.session() as session:
                png = await chart_for(session, ctx, council, measure)
            target = out or Path(f"afvigelse-{council}-{measure}.png")
            try:
                target.write_bytes(png)
            except OSError as exc:
                raise user_error(
                    InputError,
                    "results.error.cannot_write",
                    file=str(target),
                    why=exc.strerror or str(exc),
                ) from None
            width, height = Image.open(io.BytesIO(png)).size
            typer.echo(
                t(language, "results.cli.chart_written", file=target, width=width, height=height)
            )

        run(state, body)


def finding_json(finding: "Finding", ctx: "AppContext") -> dict[str, Any]:
    """One deviation as ``results check --json`` lists it."""
    settings = ctx.config.settings
    council = settings.council(finding.council)
    threshold = finding.threshold
    return {
        "jobcentre": finding.council,
        "jobcentre_name": (council.jobcentre or council.name) if council else finding.council,
        "region": finding.region,
        "measure": finding.measure,
        "period": finding.period,
        "value": finding.value,
        "group_mean": round(finding.group_mean, 6),
        "deviation": round(finding.difference, 6),
        "deviation_percent": None if finding.percent is None else round(finding.percent, 3),
        "since": finding.since,
        "periods": finding.periods,
        "threshold": {
            "percent": threshold.percent,
            "points": threshold.points,
            "periods": threshold.periods,
            "agreed_on": threshold.agreed_on.isoformat(),
            "agreed_with": threshold.agreed_with,
        },
    }


def _number(value: float, language: str) -> str:
    from bot.delivery.results_render import number

    return number(value, language)


def _deviation(row: dict[str, Any], language: str) -> str:
    text = ("+" if row["deviation"] > 0 else "") + _number(row["deviation"], language)
    if row["deviation_percent"] is not None:
        text += f" ({_number(row['deviation_percent'], language)} %)"
    return text


def _threshold(row: dict[str, Any], language: str) -> str:
    limit = row["threshold"]
    if limit["percent"] is not None:
        size = t(language, "results.chart.limit_percent", size=_number(limit["percent"], language))
    else:
        size = t(language, "results.chart.limit_points", size=_number(limit["points"], language))
    return f"{size} × {limit['periods']}"
