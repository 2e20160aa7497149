"""The deviation chart (PNG): a jobcentre's line against its group's mean and range over
the last periods, with the threshold band. A pure function of the figures; matplotlib's
object API on the Agg canvas (no pyplot state, nothing left open per chart)."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import TYPE_CHECKING

from bot.config import MeasureConfig, ResultsThresholdConfig
from bot.i18n import t
from bot.services.results.check import Comparison
from bot.services.results.periods import period_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: 12 x 7 inches at 110 dpi: 1320 x 770 pixels.
WIDTH_IN, HEIGHT_IN, DPI = 12.0, 7.0, 110


def threshold_edge(measure: MeasureConfig, threshold: ResultsThresholdConfig, mean: float) -> float:
    """Where, for a group mean, the threshold lies in the bad direction."""
    size = (
        threshold.points
        if threshold.points is not None
        else abs(mean) * (threshold.percent or 0) / 100
    )
    return mean - size if measure.higher_is_better else mean + size


def draw_chart(
    series: list[Comparison],
    *,
    jobcentre: str,
    group: str,
    measure: MeasureConfig,
    threshold: ResultsThresholdConfig,
    language: str = "da",
    since: str | None = None,
) -> bytes:
    """The chart as PNG bytes (at least 1200 x 700 pixels)."""
    figure = chart_figure(
        series,
        jobcentre=jobcentre,
        group=group,
        measure=measure,
        threshold=threshold,
        language=language,
        since=since,
    )
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    figure.clear()
    return out.getvalue()


def chart_figure(
    series: list[Comparison],
    *,
    jobcentre: str,
    group: str,
    measure: MeasureConfig,
    threshold: ResultsThresholdConfig,
    language: str = "da",
    since: str | None = None,
) -> Figure:
    """The chart's figure on an Agg canvas (what :func:`draw_chart` saves)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    x = list(range(len(series)))
    means = [c.mean for c in series]
    edges = [threshold_edge(measure, threshold, m) for m in means]
    ax.fill_between(
        x,
        [c.low for c in series],
        [c.high for c in series],
        color="#9ecae1",
        alpha=0.45,
        label=t(language, "results.chart.range", group=group),
    )
    ax.plot(x, means, color="#3182bd", linewidth=2, label=t(language, "results.chart.mean"))
    # The band beyond the threshold: from the threshold line outwards.
    values = [c.value for c in series] + [c.high for c in series] + [c.low for c in series]
    span = (max(values + edges) - min(values + edges)) or 1.0
    far = (
        (min(values + edges) - span * 0.1)
        if measure.higher_is_better
        else (max(values + edges) + span * 0.1)
    )
    ax.fill_between(
        x,
        edges,
        [far] * len(x),
        color="#fcbba1",
        alpha=0.4,
        label=t(language, "results.chart.band"),
    )
    ax.plot(x, edges, color="#de2d26", linestyle="--", linewidth=1.2)
    ax.plot(
        x,
        [c.value for c in series],
        color="#111111",
        linewidth=2.6,
        marker="o",
        markersize=4,
        label=jobcentre,
    )
    beyond = [i for i, c in enumerate(series) if c.beyond]
    if beyond:
        ax.scatter(
            beyond,
            [series[i].value for i in beyond],
            color="#de2d26",
            zorder=5,
            s=36,
            label=t(language, "results.chart.beyond"),
        )
    if since is not None and any(c.period == since for c in series):
        start = next(i for i, c in enumerate(series) if c.period == since)
        ax.axvline(start, color="#de2d26", linewidth=0.8, alpha=0.6)
    step = max(1, len(series) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([period_label(c.period, language) for c in series][::step], rotation=30)
    ax.set_xlim(-0.5, len(series) - 0.5 if series else 0.5)
    unit = f" ({measure.unit})" if measure.unit else ""
    ax.set_ylabel(measure.name(language) + unit)
    ax.set_xlabel(t(language, "results.chart.period"))
    limit = (
        t(language, "results.chart.limit_percent", size=_number(threshold.percent or 0, language))
        if threshold.points is None
        else t(language, "results.chart.limit_points", size=_number(threshold.points, language))
    )
    ax.set_title(
        t(
            language,
            "results.chart.title",
            jobcentre=jobcentre,
            measure=measure.name(language),
            limit=limit,
        )
    )
    ax.grid(True, alpha=0.3)
    # A fixed place and margins: "best" and tight_layout cost more than the drawing.
    ax.legend(loc="upper left", fontsize=9)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.14)
    return figure


def _number(value: float, language: str) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if language == "da" else text


def chart_data(
    series: list[Comparison],
    *,
    jobcentre: str,
    group: str,
    measure: MeasureConfig,
    threshold: ResultsThresholdConfig,
    language: str,
    since: str | None,
) -> str:
    """Everything :func:`draw_chart` needs, as JSON: kept with a deviation when it is
    found (cheap), drawn when its alert goes out, the same picture for every recipient."""
    return json.dumps(
        {
            "series": [dataclasses.astuple(c) for c in series],
            "jobcentre": jobcentre,
            "group": group,
            "measure": measure.model_dump(),
            "threshold": threshold.model_dump(mode="json"),
            "language": language,
            "since": since,
        },
        ensure_ascii=False,
    )


def draw_from_data(text: str) -> bytes:
    """The chart of :func:`chart_data`'s JSON."""
    data = json.loads(text)
    return draw_chart(
        [Comparison(*item) for item in data["series"]],
        jobcentre=data["jobcentre"],
        group=data["group"],
        measure=MeasureConfig.model_validate(data["measure"]),
        threshold=ResultsThresholdConfig.model_validate(data["threshold"]),
        language=data["language"],
        since=data["since"],
    )
