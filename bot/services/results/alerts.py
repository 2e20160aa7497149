"""The check against the stored figures, and its alerts through the outbox.

A deviation found for the first time (a jobcentre, a measure, the period it started)
becomes a ``result_deviation`` row and one alert per recipient: the RBR's channel and
secretariat, the LBR's channel, chair and secretariat. Each alert's idempotency key
names the jobcentre, the measure and the start period, so a re-import or a re-check
finds the row and the keys again and sends nothing. A deviation that a later check no
longer finds has ended: it is reported once too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ResultsConfig, Settings
from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.reminders import load_audiences
from bot.services.results.chart import chart_data, draw_from_data
from bot.services.results.check import Comparison, Finding, compare, find_deviations
from bot.services.results.importing import ImportReport
from bot.services.results.queries import ENDED, OPEN
from scheduler.errors import InputError
from scheduler.model import CouncilKind
from scheduler.planner import Audience, Kind, PlannedNotification, Recipient
from storage import audit, outbox
from storage.db import lock_row
from storage.models import Council
from storage.results import ResultDeviation, ResultValue

FOUND_MESSAGE, ENDED_MESSAGE = "results.deviation.found", "results.deviation.ended"
RBR_AUDIENCES = frozenset({Audience.CHANNEL, Audience.SECRETARIAT})
LBR_AUDIENCES = frozenset({Audience.CHANNEL, Audience.CHAIR, Audience.SECRETARIAT})


@dataclass
class CheckOutcome:
    """What a check found and what it changed."""

    findings: list[Finding] = field(default_factory=list)
    found: list[ResultDeviation] = field(default_factory=list)
    ended: list[ResultDeviation] = field(default_factory=list)
    alerts: int = 0


async def load_values(
    session: AsyncSession, measures: set[str], council_ids: dict[int, str]
) -> dict[tuple[str, str], dict[str, float]]:
    """The stored figures of ``measures`` per (LBR key, measure), period -> value."""
    values: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    if not measures:
        return values
    table = ResultValue.__table__
    rows = await session.execute(
        select(table.c.council_id, table.c.measure, table.c.period, table.c.value).where(
            table.c.measure.in_(sorted(measures))
        )
    )
    for council_id, measure, period, value in rows:
        key = council_ids.get(council_id)
        if key is not None:
            values[(key, measure)][period] = value
    return values


def _regions(settings: Settings) -> dict[str, str]:
    return {c.key: c.region for c in settings.councils if c.kind is CouncilKind.LBR and c.region}


async def _council_ids(session: AsyncSession) -> tuple[dict[int, str], dict[str, Council]]:
    councils = (await session.execute(select(Council))).scalars().all()
    return {c.id or 0: c.key for c in councils}, {c.key: c for c in councils}


async def run_check(
    session: AsyncSession,
    ctx: AppContext,
    *,
    until: str | None = None,
    record: bool = True,
    quiet: bool = False,
    actor: str = "aarshjul",
    known: ImportReport | None = None,
) -> CheckOutcome:
    """Check every LBR with a threshold; with ``record`` (not for a look back with
    ``until``), store what is new or over and queue its alerts, in ``session``.

    Args:
        quiet: the alerts wait for the end of quiet hours (the daily job); an import
            by hand sends them at once.
        known: the import just made, whose figures spare reading the table again when
            they cover every LBR and measure with a threshold.
    """
    settings = ctx.config.settings
    results = settings.results
    ids, by_key = await _council_ids(session)
    measures = {t.measure for t in results.thresholds}
    lbrs = {by_key[k].id for k in _regions(settings) if k in by_key}
    if known is not None and measures <= known.covered and lbrs <= known.councils:
        # The import just read or wrote every figure the check needs.
        values: dict[tuple[str, str], dict[str, float]] = {
            (ids[c], m): v for (c, m), v in known.values.items() if m in measures and c in ids
        }
    else:
        values = await load_values(session, measures, ids)
    checked = find_deviations(values, results, _regions(settings), until)
    outcome = CheckOutcome(findings=checked.findings)
    if not record or until is not None:
        return outcome
    now = ctx.clock.now()
    # Two checks at once (an import and the daily job, two replicas) take turns on the
    # RBRs' rows: the second then finds the first's deviations and queues nothing.
    regions = {t.council for t in results.thresholds}
    for region_id in sorted(by_key[k].id or 0 for k in regions if k in by_key):
        await lock_row(session, Council, region_id)
    rows = (
        (await session.execute(select(ResultDeviation).where(ResultDeviation.state == OPEN)))
        .scalars()
        .all()
    )
    open_rows = {(r.council_id, r.measure): r for r in rows}
    for finding in checked.findings:
        council, region = by_key[finding.council], by_key[finding.region]
        here = open_rows.pop((council.id or 0, finding.measure), None)
        if here is not None and here.since_period == finding.since:
            _refresh_row(here, finding, now)
            session.add(here)
            continue
        if here is not None:
            # Over and begun again: the old one ended before this run started.
            await _end(session, ctx, here, finding.period, values, ids, outcome, now, quiet)
        known = await session.scalar(
            select(ResultDeviation).where(
                ResultDeviation.council_id == council.id,
                ResultDeviation.measure == finding.measure,
                ResultDeviation.since_period == finding.since,
            )
        )
        if known is not None:
            # Found, ended, and found again from the same start (a corrected figure):
            # open again, already alerted.
            known.state, known.ended_period, known.ended_at = OPEN, None, None
            _refresh_row(known, finding, now)
            session.add(known)
            continue
        series = _series(values, results, finding.council, finding.measure, settings)
        row = ResultDeviation(
            council_id=council.id or 0,
            region_id=region.id or 0,
            measure=finding.measure,
            since_period=finding.since,
            last_period=finding.period,
            value=finding.value,
            group_mean=finding.group_mean,
            difference=finding.difference,
            percent=finding.percent,
            periods=finding.periods,
            threshold_kind="points" if finding.threshold.points is not None else "percent",
            threshold=finding.threshold.points or finding.threshold.percent or 0.0,
            agreed_on=finding.threshold.agreed_on,
            agreed_with=finding.threshold.agreed_with,
            state=OPEN,
            chart=_chart(series, settings, council, finding.measure, finding.since),
            found_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        audit.record(
            session,
            at=now,
            actor=actor,
            action="result.deviation_found",
            entity="result_deviation",
            entity_id=row.id,
            council=council.key,
            measure=row.measure,
            since=row.since_period,
            period=row.last_period,
        )
        outcome.found.append(row)
        outcome.alerts += await _alert(session, ctx, row, council, region, FOUND_MESSAGE, quiet)
    for (council_id, measure), row in open_rows.items():
        latest = checked.checked.get((ids.get(council_id, ""), measure))
        if latest is not None:
            await _end(session, ctx, row, latest, values, ids, outcome, now, quiet)
    return outcome


def _refresh_row(row: ResultDeviation, finding: Finding, now: datetime) -> None:
    row.last_period = finding.period
    row.value = finding.value
    row.group_mean = finding.group_mean
    row.difference = finding.difference
    row.percent = finding.percent
    row.periods = finding.periods
    row.updated_at = now


async def _end(
    session: AsyncSession,
    ctx: AppContext,
    row: ResultDeviation,
    period: str,
    values: dict[tuple[str, str], dict[str, float]],
    ids: dict[int, str],
    outcome: CheckOutcome,
    now: datetime,
    quiet: bool,
) -> None:
    settings = ctx.config.settings
    council = await session.get(Council, row.council_id)
    region = await session.get(Council, row.region_id)
    assert council is not None and region is not None
    row.state, row.ended_period, row.ended_at, row.updated_at = ENDED, period, now, now
    series = _series(values, settings.results, council.key, row.measure, settings)
    row.ended_chart = _chart(series, settings, council, row.measure, row.since_period)
    session.add(row)
    audit.record(
        session,
        at=now,
        actor="aarshjul",
        action="result.deviation_ended",
        entity="result_deviation",
        entity_id=row.id,
        council=council.key,
        measure=row.measure,
        since=row.since_period,
        ended=period,
    )
    outcome.ended.append(row)
    outcome.alerts += await _alert(session, ctx, row, council, region, ENDED_MESSAGE, quiet)


def _series(
    values: dict[tuple[str, str], dict[str, float]],
    results: ResultsConfig,
    council: str,
    measure: str,
    settings: Settings,
) -> list[Comparison]:
    """The last ``chart_periods`` comparisons of a jobcentre and measure."""
    group = results.group_of(council)
    region = _regions(settings).get(council)
    threshold = next(
        (t for t in results.thresholds if t.council == region and t.measure == measure), None
    )
    config = results.measure(measure)
    if group is None or threshold is None or config is None:
        return []
    series = compare(values, council, group.members, measure, config, threshold)
    return series[-results.chart_periods :]


def _chart(
    series: list[Comparison], settings: Settings, council: Council, measure: str, since: str
) -> str | None:
    """The chart's data (JSON, see :func:`chart_data`); drawn when the alert goes out."""
    results = settings.results
    config = results.measure(measure)
    group = results.group_of(council.key)
    region = _regions(settings).get(council.key)
    threshold = next(
        (t for t in results.thresholds if t.council == region and t.measure == measure), None
    )
    if not series or config is None or group is None or threshold is None:
        return None
    return chart_data(
        series,
        jobcentre=_jobcentre_name(settings, council),
        group=group.name,
        measure=config,
        threshold=threshold,
        language=settings.general.language.value,
        since=since,
    )


def _jobcentre_name(settings: Settings, council: Council) -> str:
    configured = settings.council(council.key)
    return (configured.jobcentre if configured and configured.jobcentre else None) or council.name


async def _alert(
    session: AsyncSession,
    ctx: AppContext,
    row: ResultDeviation,
    council: Council,
    region: Council,
    message: str,
    quiet: bool,
) -> int:
    """One outbox row per recipient of the RBR (channel, secretariat) and of the LBR
    (channel, chair, secretariat); the keys make a second call insert nothing."""
    now = ctx.clock.now()
    audiences = await load_audiences(session, ctx, [council.id or 0, region.id or 0])
    recipients: list[tuple[Recipient, Council]] = [
        (r, region) for r in audiences[region.id or 0].recipients(RBR_AUDIENCES)
    ]
    recipients += [(r, council) for r in audiences[council.id or 0].recipients(LBR_AUDIENCES)]
    slot = "found" if message == FOUND_MESSAGE else "ended"
    measure = ctx.config.settings.results.measure(row.measure)
    group = ctx.config.settings.results.group_of(council.key)
    source = f"results:{row.council_id}:{row.measure}:{row.since_period}"
    planned: list[PlannedNotification] = []
    seen: set[tuple[str, str]] = set()
    for recipient, audience_council in recipients:
        if (recipient.channel, recipient.address) in seen:
            continue  # a secretary of both councils: one message
        seen.add((recipient.channel, recipient.address))
        key = f"{source}/{slot}/{recipient.channel}/{recipient.who}"
        planned.append(
            PlannedNotification(
                key=key,
                group_key=key,
                kind=Kind.NOTICE,
                source=source,
                council_id=audience_council.id,
                person_id=recipient.person_id,
                channel=recipient.channel,
                address=recipient.address,
                language=recipient.language,
                message=message,
                params={
                    "deviation_id": row.id,
                    "audience": "rbr" if audience_council.id == region.id else "lbr",
                    "council": council.name,
                    "region": region.name,
                    # E-mail: from the RBR's secretariat, answers to it.
                    "reply_to": region.secretariat_email,
                    "council_key": council.key,
                    "jobcentre": _jobcentre_name(ctx.config.settings, council),
                    "group": group.name if group else "",
                    "measure": row.measure,
                    "measure_da": measure.name_da if measure else row.measure,
                    "measure_en": measure.name_en if measure else row.measure,
                    "unit": measure.unit if measure else "",
                    "higher_is_better": bool(measure and measure.higher_is_better),
                    "since": row.since_period,
                    "period": row.last_period,
                    "ended": row.ended_period,
                    "periods": row.periods,
                    "value": row.value,
                    "mean": row.group_mean,
                    "difference": row.difference,
                    "percent": row.percent,
                    "threshold_kind": row.threshold_kind,
                    "threshold": row.threshold,
                    "agreed_on": row.agreed_on.isoformat() if row.agreed_on else None,
                    "agreed_with": row.agreed_with,
                },
                due_at=now,
                expires_at=None,
                quiet=quiet,
            )
        )
    return await outbox.enqueue(session, planned, now=now)


async def chart_for(
    session: AsyncSession, ctx: AppContext, council_key: str, measure: str
) -> bytes:
    """``results chart``: the same chart an alert carries, from the stored figures.

    Raises:
        InputError: an unknown council or measure, no group or threshold, or no figures.
    """
    settings = ctx.config.settings
    results = settings.results
    if results.measure(measure) is None:
        raise user_error(
            InputError,
            "results.error.unknown_measure",
            measure=measure,
            known=", ".join(results.measures) or "-",
        )
    ids, by_key = await _council_ids(session)
    council = by_key.get(council_key)
    if council is None or council.kind != CouncilKind.LBR.value:
        raise user_error(InputError, "results.error.not_lbr", council=council_key)
    if results.group_of(council_key) is None:
        raise user_error(InputError, "results.error.no_group", council=council_key)
    values = await load_values(session, {measure}, ids)
    series = _series(values, results, council_key, measure, settings)
    if not series:
        raise user_error(
            InputError, "results.error.no_figures", council=council_key, measure=measure
        )
    open_row = await session.scalar(
        select(ResultDeviation).where(
            ResultDeviation.council_id == council.id,
            ResultDeviation.measure == measure,
            col(ResultDeviation.state) == OPEN,
        )
    )
    data = _chart(series, settings, council, measure, open_row.since_period if open_row else "")
    if data is None:
        raise user_error(
            InputError, "results.error.no_threshold", council=council_key, measure=measure
        )
    return draw_from_data(data)


async def stored_values(
    session: AsyncSession, ctx: AppContext, council: Council, measure: str | None = None
) -> list[dict[str, object]]:
    """``results show``: a council's stored figures, by measure and period.

    Raises:
        InputError: ``measure`` is not configured.
    """
    results = ctx.config.settings.results
    if measure is not None and results.measure(measure) is None:
        raise user_error(
            InputError,
            "results.error.unknown_measure",
            measure=measure,
            known=", ".join(results.measures) or "-",
        )
    query = select(ResultValue).where(ResultValue.council_id == council.id)
    if measure is not None:
        query = query.where(ResultValue.measure == measure)
    rows = await session.execute(query.order_by(col(ResultValue.measure), col(ResultValue.period)))
    return [
        {"council": council.key, "measure": r.measure, "period": r.period, "value": r.value}
        for r in rows.scalars()
    ]


async def daily_check(ctx: AppContext) -> CheckOutcome:
    """The daily job (``aarshjul run``, ``[outbox] daily_at``): the check over the stored
    figures, committed; its alerts wait for the end of quiet hours."""
    async with ctx.db.transaction() as session:
        return await run_check(session, ctx, quiet=True, actor="aarshjul run")
