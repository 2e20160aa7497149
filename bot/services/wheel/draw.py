"""The council's year drawn as a wheel (pure: data in, PNG or SVG bytes out).

Twelve months round the circle, January at the top and clockwise; each event a
mark on its date, coloured (and shaped) by its type; hearings as arcs from their
opening to their deadline; today as a hand; done events grey. Titles stand outside
the ring with leader lines, stacked per side so that no two overlap, and shortened
with an ellipsis. Nothing here reads the clock, a file or the database: the same
events, year, day and language always give the same picture, so a drawing is
memoised (the digest draws one council's wheel for each of its readers).

The geometry is public (:func:`angle_of`, :func:`layout`, :func:`pixel_of`) so a
test can find every mark in the picture from its date alone.
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap
import threading
from calendar import isleap
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from bot.i18n import month_name, t

TYPES = ("deadline", "hearing", "meeting")
#: Colour per event type (colour-blind safe blue / orange / green), and for done events.
COLOURS = {"deadline": "#1f5fa8", "hearing": "#e07b00", "meeting": "#1b8a3a"}
DONE = "#a3a3a3"
HAND = "#c0182c"
MARKERS = {"deadline": "D", "hearing": "o", "meeting": "s"}

#: The picture is SIZE px square; the axes span -LIM..LIM in both directions.
SIZE, DPI, LIM = 1600, 200, 1.8
#: Radii (axes units): the month ring, the lanes of marks, the hearing arcs, the labels.
RING_IN, RING_OUT = 0.46, 0.62
MARK_LANES = (0.68, 0.745, 0.81)
#: Where a leader line turns from the radial towards its label.
ELBOW = MARK_LANES[-1] + 0.05
ARC_LANES = (0.42, 0.385, 0.35, 0.315, 0.28)
#: Labels sit on an ellipse (wider than the wheel, taller still: the picture's top and
#: bottom have room), at most LABEL_TOP from the middle; a label is one or two lines of
#: LABEL_LINE each, and LABEL_PAD apart from the next.
LABEL_A, LABEL_B, LABEL_TOP = 0.9, 1.1, 1.5
LABEL_LINE, LABEL_PAD = 0.046, 0.010
#: Characters on a label's line; a label has at most two, the second ending in "…".
LABEL_CHARS = 34
#: Marks closer than this many days share an angle: the next one goes one lane out.
MARK_SPACING_DAYS = 6
#: A label's title is cut to this many characters, ending in "…".
TITLE_CHARS = 34
MARK_SIZE = 9.0  # points


@dataclass(frozen=True)
class WheelEvent:
    """One dated thing of the year. ``opens`` (hearings) draws an arc up to ``day``;
    ``planned`` draws that arc dashed (a hearing of the cycle not opened yet)."""

    day: date
    title: str
    type: str
    done: bool = False
    opens: date | None = None
    planned: bool = False


@dataclass(frozen=True)
class Mark:
    """Where an event's mark sits: degrees clockwise from the top, radius in axes units;
    and where its label sits (``side`` +1 right, -1 left)."""

    event: WheelEvent
    angle: float
    radius: float
    label_x: float
    label_y: float
    side: int
    #: The label's lines: the date and the title, wrapped.
    lines: tuple[str, ...] = ()


def days_in(year: int) -> int:
    return 366 if isleap(year) else 365


def angle_of(day: date, year: int) -> float:
    """Degrees clockwise from 12 o'clock of the middle of ``day`` in ``year``'s wheel."""
    ordinal = (day - date(year, 1, 1)).days
    return 360.0 * (ordinal + 0.5) / days_in(year)


def _xy(angle: float, radius: float) -> tuple[float, float]:
    rad = math.radians(angle)
    return radius * math.sin(rad), radius * math.cos(rad)


def pixel_of(angle: float, radius: float, size: int = SIZE) -> tuple[int, int]:
    """The PNG pixel (column, row) at ``angle`` and ``radius``."""
    x, y = _xy(angle, radius)
    scale = size / (2 * LIM)
    return int((x + LIM) * scale), int((LIM - y) * scale)


def in_year(events: list[WheelEvent] | tuple[WheelEvent, ...], year: int) -> list[WheelEvent]:
    """The events whose date falls in ``year``, in date order."""
    return sorted((e for e in events if e.day.year == year), key=lambda e: (e.day, e.title))


def spacing(upper: int, lower: int) -> float:
    """How far apart the middles of two labels of ``upper`` and ``lower`` lines must be."""
    return (upper + lower) / 2 * LABEL_LINE + LABEL_PAD


def _stack(wanted: list[float], sizes: list[int]) -> list[float]:
    """Label heights (top first) far enough apart not to overlap, as near the wanted ones
    as fits; squeezed evenly when there are more than the side holds."""
    if not wanted:
        return []
    gaps = [spacing(a, b) for a, b in itertools.pairwise(sizes)]
    squeeze = min(1.0, 2 * LABEL_TOP / sum(gaps)) if gaps else 1.0
    gaps = [g * squeeze for g in gaps]
    placed = [min(wanted[0], LABEL_TOP)]
    for y, gap in zip(wanted[1:], gaps, strict=True):
        placed.append(min(y, placed[-1] - gap))
    floor = -LABEL_TOP
    for i in range(len(placed) - 1, -1, -1):
        placed[i] = max(placed[i], floor)
        if i:
            floor = placed[i] + gaps[i - 1]
    return placed


def layout(
    events: list[WheelEvent] | tuple[WheelEvent, ...], year: int, language: str = "da"
) -> list[Mark]:
    """Every event of ``year``: its mark's angle and lane, and its label's place."""
    shown = in_year(events, year)
    # Per lane: the first and the last angle used (the first, for the wrap at New Year).
    lanes: list[tuple[float, float]] = []
    apart = 360.0 * MARK_SPACING_DAYS / days_in(year)
    raw: list[tuple[WheelEvent, float, float]] = []
    for event in shown:
        angle = angle_of(event.day, year)
        free = [
            i
            for i, (first, last) in enumerate(lanes)
            if angle - last >= apart and first + 360.0 - angle >= apart
        ]
        if free:
            lane = free[0]
        elif len(lanes) < len(MARK_LANES):
            lane = len(lanes)
            lanes.append((angle, angle))
        else:
            # Crowded past every lane: the one whose last mark is furthest back.
            lane = min(range(len(lanes)), key=lambda i: lanes[i][1])
        lanes[lane] = (lanes[lane][0], angle)
        raw.append((event, angle, MARK_LANES[lane]))
    marks: list[Mark] = []
    for side in (1, -1):
        mine = [r for r in raw if (r[1] < 180) == (side == 1)]
        mine.sort(key=lambda r: -math.cos(math.radians(r[1])))
        texts = [label_lines(event, language) for event, _, _ in mine]
        if sum(spacing(len(a), len(b)) for a, b in itertools.pairwise(texts)) > 2 * LABEL_TOP:
            # Crowded: one line each (the title cut shorter) before squeezing.
            texts = [label_lines(event, language, wrap=False) for event, _, _ in mine]
        heights = _stack(
            [LABEL_B * math.cos(math.radians(a)) for _, a, _ in mine], [len(t) for t in texts]
        )
        for (event, angle, radius), y, text in zip(mine, heights, texts, strict=True):
            x = LABEL_A * math.sqrt(max(1 - (y / LABEL_B) ** 2, 0.0))
            # Never left of the leader's elbow: lines of labels pushed above or below the
            # wheel then do not cross.
            elbow = abs(_xy(angle, ELBOW)[0]) + 0.03
            marks.append(Mark(event, angle, radius, side * max(x, elbow, 0.14), y, side, text))
    marks.sort(key=lambda m: (m.event.day, m.event.title))
    return marks


def _arc_lanes(events: list[WheelEvent], year: int) -> list[tuple[WheelEvent, float, float, float]]:
    """Hearing arcs (event, start angle, end angle, radius); overlapping ones stack inwards."""
    arcs = []
    ends: list[float] = []
    first = date(year, 1, 1)
    for event in sorted((e for e in events if e.opens is not None), key=lambda e: e.opens or e.day):
        assert event.opens is not None
        start = angle_of(max(event.opens, first), year) - 180.0 / days_in(year)
        end = angle_of(event.day, year)
        if end <= start:
            continue
        lane = next((i for i, last in enumerate(ends) if start > last + 1.0), None)
        if lane is None:
            lane = min(len(ends), len(ARC_LANES) - 1)
            if lane == len(ends):
                ends.append(end)
        ends[lane] = max(ends[lane], end)
        arcs.append((event, start, end, ARC_LANES[lane]))
    return arcs


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def short(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    return _cut(" ".join(text.split()), limit)


def label_lines(event: WheelEvent, language: str, *, wrap: bool = True) -> tuple[str, ...]:
    """``16. jun  Høringsfrist: resultatrevisionen``, wrapped to two lines at most (one
    without ``wrap``), the last cut with an ellipsis when the title is longer."""
    month = month_name(event.day.month, language)[:3]
    when = (
        f"{event.day.day} {month.capitalize()}" if language == "en" else f"{event.day.day}. {month}"
    )
    head, title = f"{when}  ", " ".join(event.title.split())
    if not wrap:
        return (_cut(head + title, LABEL_CHARS),)
    lines = textwrap.wrap(title, LABEL_CHARS, initial_indent="x" * len(head)) or [""]
    lines[0] = head + lines[0][len(head) :]
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    # The second line, or a word longer than a line (wrap leaves it whole), is cut.
    return tuple(_cut(line, LABEL_CHARS) for line in lines)


_LOCK = threading.Lock()


def draw_wheel(
    events: list[WheelEvent] | tuple[WheelEvent, ...],
    *,
    year: int,
    today: date,
    language: str = "da",
    title: str = "",
    fmt: str = "png",
) -> bytes:
    """The wheel as PNG (``fmt="png"``, SIZE px square) or SVG (``"svg"``) bytes.

    The hand points at ``today`` when it falls in ``year``. Memoised on its arguments.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown image format {fmt!r}")
    return _draw(tuple(events), year, today, language, title, fmt)


@lru_cache(maxsize=32)
def _draw(
    events: tuple[WheelEvent, ...], year: int, today: date, language: str, title: str, fmt: str
) -> bytes:
    # matplotlib loads only when a wheel is drawn, never for the other commands.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with (
        _LOCK,
        matplotlib.rc_context(
            {"svg.fonttype": "none", "svg.hashsalt": "aarshjul", "font.family": "DejaVu Sans"}
        ),
    ):
        fig = Figure(figsize=(SIZE / DPI, SIZE / DPI), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-LIM, LIM)
        ax.set_ylim(-LIM, LIM)
        ax.set_aspect("equal")
        ax.axis("off")
        _months(ax, year, language)
        _arcs(ax, list(events), year)
        if today.year == year:
            _hand(ax, today, year)
        _marks(ax, layout(events, year, language))
        _titles(ax, fig, year, language, title)
        buffer = io.BytesIO()
        if fmt == "png":
            # zlib level 1: the encoding (a good part of the drawing's time) about a
            # quarter faster than at the default 6, for a file ~17 % larger (~260 kB).
            fig.savefig(
                buffer,
                format="png",
                dpi=DPI,
                metadata={"Software": None},
                pil_kwargs={"compress_level": 1},
            )
        else:
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        return buffer.getvalue()


def _months(ax: Any, year: int, language: str) -> None:
    from matplotlib.patches import Circle, Wedge

    n = days_in(year)
    for month in range(1, 13):
        start = 360.0 * (date(year, month, 1) - date(year, 1, 1)).days / n
        end = (
            360.0 if month == 12 else 360.0 * (date(year, month + 1, 1) - date(year, 1, 1)).days / n
        )
        ax.add_patch(
            Wedge(
                (0, 0),
                RING_OUT,
                90 - end,
                90 - start,
                width=RING_OUT - RING_IN,
                facecolor="#f1f3f5" if month % 2 else "#dde2e7",
                edgecolor="white",
                linewidth=1.5,
                zorder=1,
            )
        )
        middle = (start + end) / 2
        x, y = _xy(middle, (RING_IN + RING_OUT) / 2)
        rotation = -middle if not 90 < middle < 270 else 180 - middle
        ax.text(
            x,
            y,
            month_name(month, language),
            rotation=rotation,
            rotation_mode="anchor",
            ha="center",
            va="center",
            fontsize=8,
            color="#2b2f33",
            zorder=2,
        )
    ax.add_patch(Circle((0, 0), RING_IN - 0.0, fill=False, edgecolor="#dde2e7", lw=0.8))


def _arcs(ax: Any, events: list[WheelEvent], year: int) -> None:
    for event, start, end, radius in _arc_lanes(events, year):
        steps = max(int((end - start) / 1.5), 2)
        points = [_xy(start + (end - start) * i / steps, radius) for i in range(steps + 1)]
        colour = DONE if event.done else COLOURS.get(event.type, COLOURS["hearing"])
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            color=colour,
            linewidth=6,
            solid_capstyle="butt",
            dash_capstyle="butt",
            linestyle=(0, (2.5, 1.2)) if event.planned else "solid",
            alpha=0.75 if event.planned else 1.0,
            zorder=3,
        )
        x0, y0 = _xy(start, radius - 0.03)
        x1, y1 = _xy(start, radius + 0.03)
        ax.plot([x0, x1], [y0, y1], color=colour, linewidth=1.5, zorder=3)


def _hand(ax: Any, today: date, year: int) -> None:
    angle = angle_of(today, year)
    x0, y0 = _xy(angle, 0.30)
    x1, y1 = _xy(angle, MARK_LANES[-1] + 0.06)
    ax.plot([x0, x1], [y0, y1], color=HAND, linewidth=2.2, zorder=4, solid_capstyle="round")
    ax.plot([x0], [y0], marker="o", markersize=4, color=HAND, zorder=4)


def _marks(ax: Any, marks: list[Mark]) -> None:
    for mark in marks:
        event = mark.event
        colour = DONE if event.done else COLOURS.get(event.type, COLOURS["deadline"])
        mx, my = _xy(mark.angle, mark.radius)
        ex, ey = _xy(mark.angle, ELBOW)
        lx = mark.label_x - mark.side * 0.015
        ax.plot([mx, ex, lx], [my, ey, mark.label_y], color="#b9c0c7", linewidth=0.7, zorder=5)
        ax.plot(
            [mx],
            [my],
            marker=MARKERS.get(event.type, "o"),
            markersize=MARK_SIZE,
            markerfacecolor=colour,
            markeredgecolor="white",
            markeredgewidth=0.8,
            linestyle="none",
            zorder=7,
        )
        ax.text(
            mark.label_x,
            mark.label_y,
            "\n".join(mark.lines),
            ha="left" if mark.side > 0 else "right",
            va="center",
            fontsize=6.5,
            linespacing=1.1,
            color="#8a8f94" if event.done else "#1f2328",
            zorder=6,
        )


def _titles(ax: Any, fig: Any, year: int, language: str, title: str) -> None:
    from matplotlib.lines import Line2D

    ax.text(
        0, 0.06, str(year), ha="center", va="center", fontsize=20, weight="bold", color="#1f2328"
    )
    if title:
        name = "\n".join(textwrap.wrap(short(title, 54), 18)[:3])
        ax.text(0, -0.1, name, ha="center", va="top", fontsize=7.5, color="#3d4349")
    ax.text(
        0,
        LIM - 0.1,
        t(language, "wheel.heading", year=year, council=short(title, 60)),
        ha="center",
        va="top",
        fontsize=11,
        weight="bold",
        color="#1f2328",
    )
    handles = [
        Line2D(
            [],
            [],
            marker=MARKERS[k],
            linestyle="none",
            markersize=7,
            markerfacecolor=COLOURS[k],
            markeredgecolor="white",
            label=t(language, f"wheel.legend.{k}"),
        )
        for k in TYPES
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=7,
            markerfacecolor=DONE,
            markeredgecolor="white",
            label=t(language, "wheel.legend.done"),
        )
    )
    handles.append(
        Line2D([], [], color=HAND, linewidth=2.2, label=t(language, "wheel.legend.today"))
    )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=5,
        frameon=False,
        fontsize=7,
        bbox_to_anchor=(0.5, 0.005),
    )
