"""Bringing a database to the state config.toml describes: ``aarshjul init`` and start-up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.app import AppContext
from bot.services.councils import CouncilSync, list_councils, sync_councils
from bot.services.cycle import instantiate_year
from bot.services.reminders import SyncResult, plan_failure_reports, sync_reminders


@dataclass
class PrepareReport:
    councils: CouncilSync
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    reminders: SyncResult | None = None


async def prepare(ctx: AppContext, years: Iterable[int], *, actor: str) -> PrepareReport:
    """Migrate the schema, mirror the councils, instantiate the years, plan reminders.

    Safe to run again and from several replicas at once: every step is idempotent
    and the migration holds a database-wide lock on PostgreSQL.
    """
    await ctx.db.upgrade()
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        synced = await sync_councils(session, ctx.config.settings.councils, now=now, actor=actor)
        report = PrepareReport(councils=synced)
        for council in await list_councils(session):
            for y in years:
                result = await instantiate_year(
                    session, council, y, ctx.template, ctx.calendar, now=now, actor=actor
                )
                report.created += result.created
                report.updated += result.updated
                report.unchanged += result.unchanged
                report.removed += result.removed
        report.reminders = await sync_reminders(session, ctx)
    return report


async def refresh(ctx: AppContext, *, actor: str) -> PrepareReport:
    """What ``aarshjul run`` does at start and every morning.

    This and next year's cycles (so a bot running through New Year plans the new
    year), the reminders, and the secretariats' reports of failed messages.
    """
    today = ctx.today()
    report = await prepare(ctx, [today.year, today.year + 1], actor=actor)
    async with ctx.db.transaction() as session:
        await plan_failure_reports(session, ctx)
    return report
