"""The wheel: the pure drawing (marks where their dates are), a stored LBR year on both
databases, and ``aarshjul cycle wheel``."""

from __future__ import annotations

import io
import itertools
import os
import pty
import select as polling
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from bot.services.councils import get_council, list_councils
from bot.services.cycle import instantiate_year
from bot.services.wheel.draw import (
    COLOURS,
    DONE,
    LABEL_LINE,
    LABEL_TOP,
    SIZE,
    Mark,
    WheelEvent,
    draw_wheel,
    layout,
    pixel_of,
    short,
    spacing,
)
from bot.services.wheel.year import council_wheel
from storage.models import CycleEvent, Hearing
from tests.cli_runner import Cli
from tests.conftest import REPO
from tests.test_meetings import CPH, create, world


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def near(a: tuple[int, ...], b: tuple[int, ...], slack: int = 24) -> bool:
    return all(abs(x - y) <= slack for x, y in zip(a[:3], b[:3], strict=True))


def expected_angle(day: date) -> float:
    """The test's own geometry: January at the top, clockwise, a day in its middle."""
    first = date(day.year, 1, 1)
    length = (date(day.year + 1, 1, 1) - first).days
    return 360.0 * ((day - first).days + 0.5) / length


def check_marks(png: bytes, events: list[WheelEvent] | tuple[WheelEvent, ...], year: int) -> int:
    """Every event's mark has its colour at its date's angle; returns how many were seen."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    assert picture.size == (SIZE, SIZE)
    marks = layout(events, year)
    assert len(marks) == len([e for e in events if e.day.year == year])
    for mark in marks:
        event = mark.event
        assert abs(mark.angle - expected_angle(event.day)) < 1e-9
        want = rgb(DONE if event.done else COLOURS[event.type])
        got = picture.getpixel(pixel_of(expected_angle(event.day), mark.radius))
        assert isinstance(got, tuple)
        assert near(got, want), (event, got, want)
    return len(marks)


SAMPLE = [
    WheelEvent(date(2027, 2, 26), "Analyserapport fra det regionale beskæftigelsesråd", "deadline"),
    WheelEvent(date(2027, 3, 11), "Årlig konference", "meeting", done=True),
    WheelEvent(date(2027, 4, 15), "Ministerens udmelding af mål", "deadline"),
    WheelEvent(date(2027, 4, 16), "Dagen efter", "meeting"),
    WheelEvent(date(2027, 4, 17), "To dage efter", "hearing", opens=date(2027, 4, 1)),
    WheelEvent(date(2027, 8, 31), "Høring over planen", "hearing", opens=date(2027, 8, 10)),
    WheelEvent(date(2027, 12, 31), "Nytårsaften", "deadline"),
    WheelEvent(date(2027, 1, 1), "Nytårsdag", "meeting", done=True),
    WheelEvent(date(2028, 1, 5), "Next year: not drawn", "deadline"),
]  # fmt: skip


def test_marks_sit_at_their_dates_angles_and_the_rest_of_the_ring_is_empty() -> None:
    # The sampling helper's geometry is the test's own: 0 degrees (1 January) straight
    # up from the centre, 90 to its right (clockwise), so marks found where it points
    # sit with January at the top.
    centre = SIZE // 2
    column, row = pixel_of(0.0, 0.5)
    assert abs(column - centre) <= 1 and row < centre - SIZE // 8
    column, row = pixel_of(90.0, 0.5)
    assert column > centre + SIZE // 8 and abs(row - centre) <= 1
    png = draw_wheel(SAMPLE, year=2027, today=date(2027, 4, 1), title="LBR Gribskov")
    assert check_marks(png, SAMPLE, 2027) == 8
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    marks = layout(SAMPLE, 2027)
    # Between two marks far apart (June), the mark lanes are background: a mark is
    # a mark, not a ring.
    for radius in {m.radius for m in marks}:
        got = picture.getpixel(pixel_of(expected_angle(date(2027, 6, 15)), radius))
        assert isinstance(got, tuple) and near(got, (255, 255, 255), 4), got
    # The hand: today's angle, between the centre's text and the ring.
    got = picture.getpixel(pixel_of(expected_angle(date(2027, 4, 1)), 0.40))
    assert isinstance(got, tuple) and near(got, rgb("#c0182c"), 40), got
    # A hearing's arc runs from its opening to its deadline (inside the month ring).
    arc = picture.getpixel(pixel_of(expected_angle(date(2027, 8, 20)), 0.42))
    assert isinstance(arc, tuple) and near(arc, rgb(COLOURS["hearing"]), 30), arc


def test_the_same_day_in_a_leap_year_sits_a_little_earlier() -> None:
    common = layout([WheelEvent(date(2027, 7, 1), "x", "deadline")], 2027)[0].angle
    leap = layout([WheelEvent(date(2028, 7, 1), "x", "deadline")], 2028)[0].angle
    assert leap != common and abs(leap - expected_angle(date(2028, 7, 1))) < 1e-9


def label_gaps(marks: list[Mark], side: int) -> list[tuple[float, float]]:
    """(distance, distance needed) of each two labels one above the other on a side."""
    mine = sorted((m for m in marks if m.side == side), key=lambda m: -m.label_y)
    return [
        (a.label_y - b.label_y, spacing(len(a.lines), len(b.lines)))
        for a, b in itertools.pairwise(mine)
    ]


@pytest.mark.parametrize("count", [40, 110])
def test_labels_never_overlap_and_long_titles_end_in_an_ellipsis(count: int) -> None:
    start = date(2027, 1, 3)
    title = "Begivenhed nummer {} med en meget lang titel, som ikke kan stå på én linje"
    crowd = [
        WheelEvent(start + timedelta(days=360 * n // count), title.format(n), "deadline")
        for n in range(count)
    ]
    marks = layout(crowd, 2027)
    for side in (1, -1):
        gaps = label_gaps(marks, side)
        assert gaps and all(abs(m.label_x) >= 0.14 for m in marks if m.side == side)
        if count == 40:
            assert all(got >= needed - 1e-9 for got, needed in gaps), gaps
        else:  # more than a side holds: squeezed evenly, still in order, never on top
            # one line each, squeezed evenly: the lines still clear each other
            assert all(got >= LABEL_LINE for got, _ in gaps), gaps
            assert all(len(m.lines) == 1 for m in marks)
        assert all(abs(m.label_y) <= LABEL_TOP + 1e-9 for m in marks)
    for mark in marks:
        assert 1 <= len(mark.lines) <= 2 and all(len(line) <= 34 for line in mark.lines)
        assert mark.lines[0].startswith(f"{mark.event.day.day}. ")
        assert mark.lines[-1].endswith("…")
    assert marks[0].lines[0].startswith("3. jan  Begivenhed nummer 0")
    assert short("Beskæftigelsesregionens bemærkninger til beskæftigelsesplanen", 26) == (
        "Beskæftigelsesregionens b…"
    )
    assert len(short("x" * 100)) == 34
    png = draw_wheel(crowd, year=2027, today=date(2027, 6, 1))
    check_marks(png, crowd, 2027)


def test_the_svg_is_xml_with_danish_and_english_month_names() -> None:
    svg = draw_wheel(SAMPLE, year=2027, today=date(2027, 4, 1), title="LBR Ærø", fmt="svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = svg.decode("utf-8")
    assert "januar" in text and "december" in text and "LBR Ærø" in text
    english = draw_wheel(SAMPLE, year=2027, today=date(2027, 4, 1), language="en", fmt="svg")
    ET.fromstring(english)
    assert "January" in english.decode() and "Deadline" in english.decode()
    with pytest.raises(ValueError):
        draw_wheel(SAMPLE, year=2027, today=date(2027, 4, 1), fmt="gif")


def test_drawing_is_fast_enough_for_a_web_request() -> None:
    draw_wheel(SAMPLE[:3], year=2026, today=date(2026, 1, 1))  # matplotlib's first import
    started = time.perf_counter()
    draw_wheel(SAMPLE, year=2027, today=date(2027, 5, 2), title="LBR Fart")
    took = time.perf_counter() - started
    assert took < 2.0, took  # about 0.2 s on this machine; generous for a busy CI


# --- a stored LBR year ---------------------------------------------------------------


async def test_the_lbr_2027_wheel_from_the_database(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, None) as (ctx, clock):
        async with ctx.db.transaction() as s:
            council = await get_council(s, "lbr-test")
            await instantiate_year(
                s, council, 2027, ctx.template, ctx.calendar, now=clock.now(), actor="t"
            )
            plan = (
                await s.execute(
                    select(CycleEvent).where(
                        CycleEvent.council_id == council.id,
                        CycleEvent.template_key == "employment_plan_hearing",
                    )
                )
            ).scalar_one()
            opened = datetime(2027, 8, 2, 10, 0, tzinfo=CPH).astimezone(UTC)
            for title, deadline, state, event_id in (
                ("Beskæftigelsesplan 2028", plan.date, "open", plan.id),
                ("Høring om lokal strategi", date(2027, 5, 20), "closed", None),
            ):
                s.add(
                    Hearing(
                        council_id=council.id or 0, title=title, deadline=deadline, state=state,
                        cycle_event_id=event_id, opened_by="t", opened_at=opened
                        if event_id else datetime(2027, 5, 3, 9, tzinfo=UTC),
                        created_at=clock.now(), updated_at=clock.now(),
                    )
                )  # fmt: skip
        await create(ctx, "2027-10-05")  # a seminar of the council
        clock.set(datetime(2027, 6, 10, 9, 0, tzinfo=CPH))
        wheel = await council_wheel(ctx, "lbr-test", 2027)
        events = {e.title: e for e in wheel.events}
        # The opened hearing took its cycle event's place, with its arc from the opening.
        plan_hearing = events["Beskæftigelsesplan 2028"]
        assert plan_hearing.opens == date(2027, 8, 2) and not plan_hearing.done
        assert "Høring over beskæftigelsesplanen" not in " ".join(events)
        assert events["Høring om lokal strategi"].done  # closed
        assert events["Planseminar: beskæftigelsesplan 2028"].type == "meeting"
        result_review = next(e for e in wheel.events if "resultatrevision" in e.title.lower())
        assert result_review.type == "hearing" and result_review.planned
        assert any(e.done for e in wheel.events) and any(not e.done for e in wheel.events)
        assert check_marks(wheel.image, wheel.events, 2027) == len(wheel.events) >= 10
        english = await council_wheel(ctx, "lbr-test", 2027, language="en", fmt="svg")
        ET.fromstring(english.image)
        assert "The minister" in english.image.decode()
        # A year not stored: the template's dates.
        preview = await council_wheel(ctx, "lbr-test", 2031)
        assert len(preview.events) > 5 and not any(e.done for e in preview.events)
        async with ctx.db.session() as s:
            assert len(await list_councils(s)) == 2


# --- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def ready(database_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    cli = Cli(database_url, config)
    cli.ok("init")
    return cli


def test_cycle_wheel_writes_png_svg_and_stdout(ready: Cli, tmp_path: Path) -> None:
    png = tmp_path / "hjul.png"
    out = ready.ok(
        "cycle", "wheel", "--council", "lbr-gribskov", "--year", "2027", "--out", str(png)
    )
    assert out.startswith("Skrev årshjulet for LBR Gribskov 2027 til") and "kB)" in out
    assert Image.open(png).size == (SIZE, SIZE)
    svg = tmp_path / "hjul.SVG"
    ready.ok("cycle", "wheel", "--council", "lbr-gribskov", "--year", "2027", "--out", str(svg))
    ET.fromstring(svg.read_bytes())
    assert "beskæftigelsesplan" in svg.read_text(encoding="utf-8").lower()
    piped = ready("cycle", "wheel", "--council", "lbr-gribskov")
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"\x89PNG\r\n\x1a\n")


def test_cycle_wheel_refuses_bad_input_with_one_line(ready: Cli, tmp_path: Path) -> None:
    gif = tmp_path / "hjul.gif"
    ready.refused(
        "cycle", "wheel", "--council", "lbr-gribskov", "--out", str(gif),
        says=("--out skal ende på .png eller .svg", "hjul.gif"),
    )  # fmt: skip
    assert not gif.exists()
    ready.refused("cycle", "wheel", "--council", "lbr-nowhere", says=("lbr-nowhere",))
    ready.refused("cycle", "wheel", "--council", "lbr-gribskov", "--year", "1999", says=("1999",))
    missing = tmp_path / "no-such-folder" / "hjul.png"
    result = ready.refused(
        "cycle", "wheel", "--council", "lbr-gribskov", "--out", str(missing),
        says=("kan ikke skrive", "hjul.png"),
    )  # fmt: skip
    assert len(result.stderr.strip().splitlines()) == 1


def test_cycle_wheel_at_a_terminal_says_what_to_do_instead(ready: Cli) -> None:
    """Without --out and with stdout a terminal: one line, no PNG bytes on the screen."""
    main, child = pty.openpty()
    env = {**os.environ, **{k: v for k, v in ready.env.items() if v is not None}}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "cycle", "wheel", "--council", "lbr-gribskov"],
        stdout=child, stderr=subprocess.PIPE, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    os.close(child)
    shown = b""
    while polling.select([main], [], [], 0.2)[0]:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert done.returncode == 1 and b"PNG" not in shown
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "årshjulet er et billede: brug --out FIL.png" in lines[0], lines
