"""Finding deviations (pure): each LBR's figure against the mean of the other members of
its group of comparable jobcentres, in the bad direction of the measure, beyond the
threshold its RBR agreed, for the agreed number of consecutive periods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config import MeasureConfig, ResultsConfig, ResultsThresholdConfig
from bot.services.results.periods import is_quarter, period_index

#: (LBR key, measure) -> {period: value}
Series = Mapping[tuple[str, str], Mapping[str, float]]


@dataclass(frozen=True)
class Comparison:
    """One jobcentre's figure in one period against the rest of its group."""

    period: str
    value: float
    mean: float
    low: float
    high: float
    #: value - mean, in the measure's unit.
    difference: float
    #: difference in percent of the mean; None when the mean is 0.
    percent: float | None
    beyond: bool


@dataclass(frozen=True)
class Finding:
    """A deviation holding in ``period``: beyond the threshold since ``since``."""

    council: str
    region: str
    measure: str
    period: str
    since: str
    periods: int
    value: float
    group_mean: float
    difference: float
    percent: float | None
    threshold: ResultsThresholdConfig


def beyond(
    measure: MeasureConfig, threshold: ResultsThresholdConfig, difference: float, mean: float
) -> bool:
    """Whether ``difference`` (value - mean) is in the measure's bad direction and larger
    than the threshold (``percent`` of the mean, or ``points``)."""
    bad = -difference if measure.higher_is_better else difference
    if bad <= 0:
        return False
    if threshold.points is not None:
        return bad > threshold.points + 1e-9
    if mean == 0:
        return False
    return bad / abs(mean) * 100 > (threshold.percent or 0) + 1e-9


def compare(
    values: Series,
    council: str,
    others: Iterable[str],
    measure_key: str,
    measure: MeasureConfig,
    threshold: ResultsThresholdConfig,
    until: str | None = None,
) -> list[Comparison]:
    """Period by period (oldest first, up to ``until``), where the jobcentre and at least
    one other member of its group have a figure."""
    own = values.get((council, measure_key), {})
    rest = [values.get((o, measure_key), {}) for o in others if o != council]
    found: list[Comparison] = []
    for period in _periods(own, until):
        item = _compare_one(own, rest, period, measure, threshold)
        if item is not None:
            found.append(item)
    return found


def _periods(own: Mapping[str, float], until: str | None) -> list[str]:
    """The periods of a series, oldest first, up to ``until`` (of the same kind)."""
    if until is None:
        return sorted(own)
    quarter = is_quarter(until)
    return sorted(p for p in own if is_quarter(p) == quarter and p <= until)


def _compare_one(
    own: Mapping[str, float],
    rest: list[Mapping[str, float]],
    period: str,
    measure: MeasureConfig,
    threshold: ResultsThresholdConfig,
) -> Comparison | None:
    """The jobcentre against the others in one period (None: no other has a figure)."""
    figures = [r[period] for r in rest if period in r]
    if not figures:
        return None
    value = own[period]
    mean = sum(figures) / len(figures)
    difference = value - mean
    return Comparison(
        period=period,
        value=value,
        mean=mean,
        low=min(figures),
        high=max(figures),
        difference=difference,
        percent=difference / abs(mean) * 100 if mean else None,
        beyond=beyond(measure, threshold, difference, mean),
    )


@dataclass
class CheckResult:
    """The deviations that hold, and the latest period checked of every jobcentre and
    measure with a threshold (a deviation no longer found there has ended)."""

    findings: list[Finding]
    checked: dict[tuple[str, str], str]


def find_deviations(
    values: Series,
    results: ResultsConfig,
    regions: Mapping[str, str],
    until: str | None = None,
) -> CheckResult:
    """Every deviation that holds in its jobcentre's latest period (up to ``until``).

    Args:
        values: the stored figures.
        regions: each LBR's RBR key.
        until: check as of this period (``--period``); default each series' latest.
    """
    thresholds = {(t.council, t.measure): t for t in results.thresholds}
    findings: list[Finding] = []
    checked: dict[tuple[str, str], str] = {}
    for group in results.groups:
        for council in group.members:
            region = regions.get(council)
            if region is None:
                continue
            for measure_key, measure in results.measures.items():
                threshold = thresholds.get((region, measure_key))
                if threshold is None:
                    continue
                own = values.get((council, measure_key))
                if not own:
                    continue
                rest = [values.get((o, measure_key), {}) for o in group.members if o != council]
                # Newest first, as far back as the run beyond the threshold goes: most
                # series need their latest period only.
                back: list[Comparison] = []
                for period in reversed(_periods(own, until)):
                    item = _compare_one(own, rest, period, measure, threshold)
                    if item is None:
                        continue
                    back.append(item)
                    if not item.beyond:
                        break
                if not back or (until is not None and back[0].period != until):
                    continue
                checked[(council, measure_key)] = back[0].period
                found = holding(back[::-1], threshold.periods)
                if found is None:
                    continue
                latest, since, run = found
                findings.append(
                    Finding(
                        council=council,
                        region=region,
                        measure=measure_key,
                        period=latest.period,
                        since=since,
                        periods=run,
                        value=latest.value,
                        group_mean=latest.mean,
                        difference=latest.difference,
                        percent=latest.percent,
                        threshold=threshold,
                    )
                )
    findings.sort(key=lambda f: (f.region, f.council, f.measure))
    return CheckResult(findings, checked)


def holding(series: list[Comparison], periods: int) -> tuple[Comparison, str, int] | None:
    """The latest comparison, the first period of the run of consecutive periods beyond
    the threshold that ends with it, and the run's length, when the run is at least
    ``periods`` long; else None. A missing period breaks the run."""
    if not series:
        return None
    latest = series[-1]
    run = 0
    previous: int | None = None
    since = latest.period
    for item in reversed(series):
        index = period_index(item.period)
        if not item.beyond or (previous is not None and index != previous - 1):
            break
        run += 1
        since = item.period
        previous = index
    return (latest, since, run) if run >= periods else None
