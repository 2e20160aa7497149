"""What other capabilities read about results: the open deviations of a council.

The agenda lists an LBR's open deviation alerts; the recommendation links to a
jobcentre's measure. Both read through here, never the tables themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ResultsConfig
from bot.services.results.periods import period_label
from storage.models import Council
from storage.results import ResultDeviation

OPEN, ENDED = "open", "ended"


@dataclass(frozen=True)
class Deviation:
    """A jobcentre's deviation from its comparable jobcentres, as the check found it.

    ``value``, ``group_mean``, ``difference`` (value - mean, in ``unit``) and ``percent``
    (of the mean, signed; None when the mean is 0) are those of ``period``, the latest
    period checked while it held; it has held ``periods`` periods in a row since
    ``since``. ``threshold`` is ``threshold_kind`` (``percent`` or ``points``) as agreed
    on ``agreed_on`` with ``agreed_with``.
    """

    id: int
    council_id: int
    council_key: str
    council_name: str
    region_id: int
    measure: str
    measure_da: str
    measure_en: str
    unit: str
    higher_is_better: bool
    since: str
    period: str
    periods: int
    value: float
    group_mean: float
    difference: float
    percent: float | None
    threshold_kind: str
    threshold: float
    agreed_on: date | None
    agreed_with: str
    state: str
    ended_period: str | None

    def measure_name(self, language: str) -> str:
        return self.measure_en if language == "en" else self.measure_da

    def since_label(self, language: str) -> str:
        """``sep. 2026`` / ``Sep 2026``."""
        return period_label(self.since, language)


def deviation_view(
    row: ResultDeviation, council: Council, results: ResultsConfig | None
) -> Deviation:
    measure = results.measure(row.measure) if results is not None else None
    return Deviation(
        id=row.id or 0,
        council_id=row.council_id,
        council_key=council.key,
        council_name=council.name,
        region_id=row.region_id,
        measure=row.measure,
        measure_da=measure.name_da if measure else row.measure,
        measure_en=measure.name_en if measure else row.measure,
        unit=measure.unit if measure else "",
        higher_is_better=measure.higher_is_better if measure else False,
        since=row.since_period,
        period=row.last_period,
        periods=row.periods,
        value=row.value,
        group_mean=row.group_mean,
        difference=row.difference,
        percent=row.percent,
        threshold_kind=row.threshold_kind,
        threshold=row.threshold,
        agreed_on=row.agreed_on,
        agreed_with=row.agreed_with,
        state=row.state,
        ended_period=row.ended_period,
    )


async def open_deviations(
    session: AsyncSession, council_id: int, results: ResultsConfig | None = None
) -> list[Deviation]:
    """The open deviations of an LBR's jobcentre, or of every jobcentre of an RBR.

    Args:
        council_id: an LBR (its own deviations) or an RBR (those of its region's LBRs).
        results: ``settings.results``, for the measures' names and units (without it,
            the names are the measure keys).

    Returns:
        Oldest first (by ``since``), then by jobcentre and measure.
    """
    rows = await session.execute(
        select(ResultDeviation, Council)
        .join(Council, col(Council.id) == ResultDeviation.council_id)
        .where(
            ResultDeviation.state == OPEN,
            or_(
                col(ResultDeviation.council_id) == council_id,
                col(ResultDeviation.region_id) == council_id,
            ),
        )
        .order_by(
            col(ResultDeviation.since_period),
            col(Council.key),
            col(ResultDeviation.measure),
        )
    )
    return [deviation_view(row, council, results) for row, council in rows.all()]
