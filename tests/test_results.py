"""Results watch (issue 14): import, check against comparable jobcentres, alerts with a
chart through the real worker to the Slack stand-in and the SMTP sink, on both databases."""

from __future__ import annotations

import asyncio
import email
import io
import json
from collections.abc import AsyncIterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlmodel import col

from bot.config import load_config
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.results import open_deviations
from storage.models import AuditLog, Council, OutboxMessage
from storage.results import ResultDeviation
from tests.cli_runner import CLOCK, Cli
from tests.servers import SlackStandIn, SmtpStandIn

JOBCENTRES = [f"lbr-j{n}" for n in range(1, 9)]
DRIFTER = "lbr-j3"
MEASURES = {
    # key: (base value, higher_is_better)
    "ledighed": (5.0, False),
    "beskaeftigelse": (70.0, True),
    "varighed": (30.0, False),
}
#: 24 months, December 2024 to November 2026, in Jobindsats' form (2026M09).
MONTHS = [f"{2024 + (11 + i) // 12}M{(11 + i) % 12 + 1:02d}" for i in range(24)]

CONFIG = """
[email]
backend = "smtp"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "aarshjul@example.dk"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"
slack_channel = "rbr-test"
secretariat_email = "rbr@example.dk"
{lbrs}
[results.measures.ledighed]
name_da = "Ledighed"
name_en = "Unemployment"
unit = "pct."
higher_is_better = false

[results.measures.beskaeftigelse]
name_da = "Beskæftigelse"
name_en = "Employment"
unit = "pct."
higher_is_better = true

[results.measures.varighed]
name_da = "Varighed"
name_en = "Duration"
unit = "uger"
higher_is_better = false

[[results.groups]]
key = "klynge-1"
name = "Klynge 1"
members = [{members}]

[[results.thresholds]]
council = "rbr-test"
measure = "ledighed"
percent = 10
agreed_on = 2026-01-15
agreed_with = "Regionsdirektør Rikke Rask"

[[results.thresholds]]
council = "rbr-test"
measure = "beskaeftigelse"
points = 5
periods = 3
agreed_on = 2026-01-15
agreed_with = "Regionsdirektør Rikke Rask"

[[results.thresholds]]
council = "rbr-test"
measure = "varighed"
percent = 15
agreed_on = 2026-01-15
agreed_with = "Regionsdirektør Rikke Rask"
"""
LBR = """
[[councils]]
key = "{key}"
kind = "LBR"
name = "LBR Jobby {n}"
region = "rbr-test"
jobcentre = "Jobby {n}"
{extra}
"""
MEMBERS = (
    "council,name,email,role\n"
    "lbr-j3,Anne Formand,anne@example.dk,formand\n"
    "lbr-j3,Bo Medlem,bo@example.dk,medlem\n"
    "rbr-test,Rita Formand,rita@example.dk,formand\n"
)


def config_text(port: int, **overrides: str) -> str:
    lbrs = "".join(
        LBR.format(
            key=key,
            n=n,
            extra=(
                'slack_channel = "lbr-j3"\nsecretariat_email = "jobcenter3@example.dk"'
                if key == DRIFTER
                else ""
            ),
        )
        for n, key in enumerate(JOBCENTRES, start=1)
    )
    text = CONFIG.format(port=port, lbrs=lbrs, members=", ".join(f'"{k}"' for k in JOBCENTRES))
    for old, new in overrides.items():
        text = text.replace(old, new)
    return text


def figure(key: str, measure: str, month: int) -> float:
    """Every jobcentre within ±3 % of the measure's base value; the drifter's
    unemployment 20 % above the others' for the last 3 months."""
    base, _ = MEASURES[measure]
    n = JOBCENTRES.index(key)
    wobble = ((n * 3 + month * 2) % 7 - 3) / 100
    value = base * (1 + wobble)
    if key == DRIFTER and measure == "ledighed" and month >= 21:
        value = base * 1.2
    return round(value, 2)


def fixture_csv(
    months: list[str] = MONTHS, changes: dict[tuple[str, str, str], str] | None = None
) -> bytes:
    """The acceptance fixture as a secretariat saves it from Excel: Danish headings,
    semicolons, decimal commas, Windows-1252, municipality names (and one key)."""
    lines = ["jobcenter;mål;periode;værdi"]
    for i, month in enumerate(months):
        for n, key in enumerate(JOBCENTRES, start=1):
            for measure in MEASURES:
                index = MONTHS.index(month) if month in MONTHS else i
                value = f"{figure(key, measure, index):.2f}".replace(".", ",")
                if changes and (key, measure, month) in changes:
                    value = changes[(key, measure, month)]
                name = key if n == 8 else f"Jobcenter Jobby {n}"
                lines.append(f"{name};{measure};{month};{value}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.fixture
async def world(
    database_url: str, tmp_path: Path, slack: SlackStandIn, smtp: SmtpStandIn
) -> AsyncIterator[tuple[Cli, AppContext]]:
    config = tmp_path / "config.toml"
    config.write_text(config_text(smtp.port), encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.base_url}
    cli = Cli(database_url, config, **env)
    await asyncio.to_thread(cli.ok, "init")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    await asyncio.to_thread(cli.ok, "members", "import", str(tmp_path / "members.csv"))
    loaded = load_config(
        environ={"DATABASE_URL": database_url, "AARSHJUL_CONFIG": str(config), **env}
    )
    async with open_app(loaded, CLOCK) as ctx:
        yield cli, ctx


async def _run(cli: Cli, *args: str) -> Any:
    return await asyncio.to_thread(cli, *args)


async def _outbox(ctx: AppContext, message: str) -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        rows = (
            await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ).scalars()
        return [r for r in rows if json.loads(r.payload or "{}").get("message") == message]


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


async def test_a_drifting_jobcentre_is_alerted_once_with_its_chart(
    world: tuple[Cli, AppContext], tmp_path: Path, slack: SlackStandIn, smtp: SmtpStandIn
) -> None:
    cli, ctx = world
    data = tmp_path / "jobindsats.csv"
    data.write_bytes(fixture_csv())
    imported = await _run(cli, "results", "import", str(data))
    assert imported.exit_code == 0, (imported.stdout, imported.stderr)
    assert "576 tilføjet, 0 opdateret, 0 uændret, 0 afvist" in imported.stdout
    assert "1 nye, 0 ophørt; 5 beskeder i kø" in imported.stdout

    checked = await _run(cli, "results", "check", "--json")
    assert checked.exit_code == 0, checked.stderr
    found = json.loads(checked.stdout)
    assert [(f["jobcentre"], f["measure"], f["since"], f["period"]) for f in found] == [
        (DRIFTER, "ledighed", "2026-09", "2026-11")
    ]
    (only,) = found
    assert only["value"] == 6.0 and only["periods"] == 3
    others = [figure(k, "ledighed", 23) for k in JOBCENTRES if k != DRIFTER]
    assert only["group_mean"] == pytest.approx(sum(others) / len(others))
    assert only["deviation"] == pytest.approx(6.0 - only["group_mean"])
    assert only["threshold"]["agreed_with"] == "Regionsdirektør Rikke Rask"

    rows = await _outbox(ctx, "results.deviation.found")
    assert sorted((r.channel, r.address) for r in rows) == [
        ("email", "anne@example.dk"),
        ("email", "jobcenter3@example.dk"),
        ("email", "rbr@example.dk"),
        ("slack", "#lbr-j3"),
        ("slack", "#rbr-test"),
    ]
    async with ctx.db.session() as session:
        deviations = await open_deviations(
            session, rows[0].council_id or 0, ctx.config.settings.results
        )
        lbr = await session.scalar(select(Council).where(Council.key == DRIFTER))
        assert lbr is not None
        assert [
            (d.council_key, d.measure, d.since) for d in await open_deviations(session, lbr.id or 0)
        ] == [(DRIFTER, "ledighed", "2026-09")]
    assert deviations and deviations[0].measure_name("da") == "Ledighed"

    await drain(ctx)
    posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert len(posts) == 2
    texts = [json.dumps(c.args, ensure_ascii=False) for c in posts]
    assert all("Jobby 3" in text and "Ledighed" in text for text in texts)
    # What the RBR may do, the threshold and when and with whom it was agreed: in each.
    assert all("skriftlig aftale" in text and "rådgivningsfunktion" in text for text in texts)
    assert all("Regionsdirektør Rikke Rask" in text and "10 %" in text for text in texts)
    assert all("15. januar 2026" in text for text in texts)
    # How far from the group, and since when.
    assert all("over gruppens gennemsnit (19,8 %)" in text for text in texts), texts[0]
    assert all("3 perioder i træk, siden sep. 2026" in text for text in texts)
    shared = slack.uploads.shared()
    assert len(shared) == 2
    for file in shared:
        width, height = _png_size(file.content or b"")
        assert width >= 1200 and height >= 700
    assert len(smtp.messages) == 3
    for mail in smtp.messages:
        parsed = email.message_from_bytes(mail.data, policy=policy.default)
        assert "Afvigelse: Jobby 3" in str(parsed["Subject"])
        assert "RBR Test" in str(parsed["From"]) and parsed["Reply-To"] == "rbr@example.dk"
        body = parsed.get_body(("plain",))
        assert body is not None and "Regionsdirektør Rikke Rask" in body.get_content()
        assert "15. januar 2026" in body.get_content() and "skriftlig aftale" in body.get_content()
        (png,) = [p for p in parsed.iter_attachments() if p.get_content_type() == "image/png"]
        width, height = _png_size(png.get_content())
        assert width >= 1200 and height >= 700

    # Re-importing and re-checking sends nothing.
    again = await _run(cli, "results", "import", str(data))
    assert "0 tilføjet, 0 opdateret, 576 uændret, 0 afvist" in again.stdout
    rechecked = await _run(cli, "results", "check")
    assert "0 nye, 0 ophørt; 0 beskeder i kø" in rechecked.stdout
    await drain(ctx)
    assert len([c for c in slack.calls if c.method == "chat.postMessage"]) == 2
    assert len(smtp.messages) == 3
    assert len(await _outbox(ctx, "results.deviation.found")) == 5

    # December: back within the threshold; the end is reported once.
    december = tmp_path / "december.csv"
    december.write_bytes(fixture_csv(["2026M12"], {(DRIFTER, "ledighed", "2026M12"): "5,0"}))
    ended = await _run(cli, "results", "import", str(december))
    assert "0 nye, 1 ophørt; 5 beskeder i kø" in ended.stdout, ended.stdout
    await _run(cli, "results", "import", str(december))
    assert len(await _outbox(ctx, "results.deviation.ended")) == 5
    await drain(ctx)
    assert len(smtp.messages) == 6
    assert "ophørt" in str(
        email.message_from_bytes(smtp.messages[-1].data, policy=policy.default)["Subject"]
    )
    async with ctx.db.session() as session:
        row = await session.scalar(select(ResultDeviation))
        assert row is not None and row.state == "ended" and row.ended_period == "2026-12"
        assert await open_deviations(session, row.council_id) == []
    nothing = await _run(cli, "results", "check", "--json")
    assert json.loads(nothing.stdout) == []


async def test_a_changed_figure_is_an_update_with_an_audit_row(
    world: tuple[Cli, AppContext], tmp_path: Path
) -> None:
    cli, ctx = world
    data = tmp_path / "a.csv"
    data.write_bytes(fixture_csv(MONTHS[:3]))
    assert (await _run(cli, "results", "import", str(data))).exit_code == 0
    data.write_bytes(fixture_csv(MONTHS[:3], {("lbr-j1", "varighed", MONTHS[1]): "31,5"}))
    result = await _run(cli, "results", "import", str(data))
    assert "0 tilføjet, 1 opdateret, 71 uændret, 0 afvist" in result.stdout
    async with ctx.db.session() as session:
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "result.updated"))
        assert entry is not None
        details = json.loads(entry.details or "{}")
        assert (details["old"], details["new"], details["period"]) == (
            figure("lbr-j1", "varighed", 1),
            31.5,
            "2025-01",
        )
    shown = await _run(
        cli, "results", "show", "--council", "lbr-j1", "--measure", "varighed", "--json"
    )
    values = json.loads(shown.stdout)
    assert [v["period"] for v in values] == ["2024-12", "2025-01", "2025-02"]
    assert values[1]["value"] == 31.5


BAD = [
    (
        "jobcenter;mål;periode;værdi\nlbr-j1;ledighed;2026M01;5,0\nlbr-j1;ledighed;2026-13;5,0\n",
        "linje 3: afvist: '2026-13' er ikke en periode",
    ),
    (
        "jobcentre,measure,period,value\nlbr-j1,ledighed,2026-01,5.0\nlbr-j1,ledigheden,2026-02,5.0\n",
        "linje 3: afvist: ukendt mål 'ledigheden'",
    ),
    (
        "jobcentre,measure,period,value\nJobcenter Atlantis,ledighed,2026-01,5.0\n",
        "linje 2: afvist: ukendt jobcenter 'Jobcenter Atlantis'",
    ),
    (
        "jobcentre,measure,period,value\nlbr-j1,ledighed,2026Q1,5.0\nlbr-j1,ledighed,2026-02,n/a\n",
        "linje 3: afvist: værdien 'n/a' er ikke et tal",
    ),
    (
        "jobcentre,measure,period,value\nrbr-test,ledighed,2026-01,5.0\n",
        "linje 2: afvist: 'rbr-test' er ikke et LBR",
    ),
    ("kommune;periode;værdi\nlbr-j1;2026M01;5\n", "mangler: measure"),
]


@pytest.mark.parametrize(("text", "says"), BAD)
def test_bad_rows_are_reported_by_line_and_nothing_changes(
    database_url: str, tmp_path: Path, text: str, says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(25), encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    good = tmp_path / "good.csv"
    good.write_text(
        "jobcentre,measure,period,value\nlbr-j2,ledighed,2026-01,5.0\n", encoding="utf-8"
    )
    cli.ok("results", "import", str(good))
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    result = cli.refused("results", "import", str(bad), says=(says,))
    assert result.stderr.count("\n") <= 2  # the line, and "nothing was saved"
    # --skip-bad keeps the good rows (the members import's way), and still says the bad.
    if "mangler" not in says:
        kept = cli("results", "import", str(bad), "--skip-bad")
        assert says in kept.stderr and kept.exit_code == 1


def test_a_threshold_for_a_council_that_is_not_an_rbr_is_refused_naming_it(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(25), encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    config.write_text(
        config_text(
            25,
            **{'"rbr-test"\nmeasure = "varighed"': '"lbr-j4"\nmeasure = "varighed"'},
        ),
        encoding="utf-8",
    )
    result = cli.refused("results", "check", says=("'lbr-j4' er ikke et RBR",))
    assert "[[results.thresholds]]" in result.stderr


def test_xlsx_import_and_the_chart_command(database_url: str, tmp_path: Path) -> None:
    from openpyxl import Workbook

    config = tmp_path / "config.toml"
    config.write_text(config_text(25), encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Jobcenter", "Mål", "Periode", "Værdi"])
    for i, month in enumerate(MONTHS):
        for n, key in enumerate(JOBCENTRES, start=1):
            sheet.append([f"Jobby {n}", "ledighed", month, figure(key, "ledighed", i)])
    sheet.append([None, None, None, None])
    path = tmp_path / "jobindsats.xlsx"
    book.save(path)
    out = cli.ok("results", "import", str(path))
    assert "192 tilføjet" in out and "1 nye" in out
    chart = tmp_path / "graf.png"
    written = cli.ok(
        "results", "chart", "--council", DRIFTER, "--measure", "ledighed", "--out", str(chart)
    )
    width, height = _png_size(chart.read_bytes())
    assert width >= 1200 and height >= 700 and f"{width} × {height}" in written
    cli.refused(
        "results", "chart", "--council", DRIFTER, "--measure", "nope", says=("ukendt mål 'nope'",)
    )


async def test_the_daily_check_finds_what_an_import_without_a_check_left_and_waits_for_quiet_hours(
    world: tuple[Cli, AppContext],
) -> None:
    from bot.runner import daily_jobs
    from bot.services.results.alerts import daily_check
    from bot.services.results.importing import import_results

    _cli, ctx = world
    settings = ctx.config.settings
    async with ctx.db.transaction() as session:
        report = await import_results(
            session,
            fixture_csv(),
            results=settings.results,
            councils=settings.councils,
            now=ctx.clock.now(),
            actor="test",
            language="da",
        )
        assert report.added == 576 and not report.rejected
    assert await _outbox(ctx, "results.deviation.found") == []
    # What 'aarshjul run' does once a day.
    await daily_jobs(ctx)
    async with ctx.db.session() as session:
        (found,) = (await session.execute(select(ResultDeviation))).scalars().all()
    assert (found.measure, found.since_period, found.state) == ("ledighed", "2026-09", "open")
    rows = await _outbox(ctx, "results.deviation.found")
    assert len(rows) == 5 and all(r.quiet for r in rows)
    again = await daily_check(ctx)
    assert again.found == [] and again.alerts == 0
    assert len(await _outbox(ctx, "results.deviation.found")) == 5


def test_check_and_show_as_tables(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(25), encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    data = tmp_path / "jobindsats.csv"
    data.write_bytes(fixture_csv())
    cli.ok("results", "import", str(data), "--dry-run")
    assert (
        cli.ok("results", "show", "--council", DRIFTER).strip()
        == "Ingen resultater gemt for LBR Jobby 3."
    )
    cli.ok("results", "import", str(data))
    table = cli.ok("results", "check").splitlines()
    assert table[0].split() == [
        "Jobcenter", "Mål", "Periode", "Værdi", "Gruppens", "gns.", "Afvigelse", "Siden", "Tærskel",
    ]  # fmt: skip
    assert table[2].split()[:4] == [DRIFTER, "ledighed", "2026-11", "6"]
    assert "2026-09" in table[2] and "10 % × 2" in table[2]
    assert "0 nye, 0 ophørt" in table[-1]
    shown = cli.ok("results", "show", "--council", DRIFTER, "--measure", "ledighed").splitlines()
    assert len(shown) == 2 + 24 and shown[-1].split() == ["ledighed", "2026-11", "6"]
    back = cli.ok("results", "check", "--period", "2026M10")
    assert "2026-10" in back and "2026-09" in back and "beskeder" not in back
    cli.refused("results", "check", "--period", "2026-13", says=("'2026-13' er ikke en periode",))


async def test_the_chart_is_the_last_24_periods_against_the_group_with_the_band_in_danish(
    world: tuple[Cli, AppContext], tmp_path: Path
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection

    from bot.config import MeasureConfig, ResultsThresholdConfig
    from bot.services.results.chart import Comparison, chart_figure, draw_from_data

    cli, ctx = world
    earlier = [f"2024M{m:02d}" for m in range(6, 12)]  # 30 months in all
    data = tmp_path / "jobindsats.csv"
    data.write_bytes(fixture_csv(earlier) + fixture_csv().split(b"\r\n", 1)[1])
    assert "720 tilføjet" in (await _run(cli, "results", "import", str(data))).stdout
    async with ctx.db.session() as session:
        row = await session.scalar(select(ResultDeviation))
    assert row is not None and row.chart is not None
    stored = json.loads(row.chart)
    series = [c[0] for c in stored["series"]]
    assert len(series) == 24 and series[0] == "2024-12" and series[-1] == "2026-11"
    # The jobcentre's own figures, the others' mean (without it) and range.
    assert [c[1] for c in stored["series"]] == [figure(DRIFTER, "ledighed", i) for i in range(24)]
    last = [figure(k, "ledighed", 23) for k in JOBCENTRES if k != DRIFTER]
    mean_low_high = [sum(last) / len(last), min(last), max(last)]
    assert stored["series"][-1][2:5] == pytest.approx(mean_low_high)
    width, height = _png_size(draw_from_data(row.chart))
    assert width >= 1200 and height >= 700

    drawn = chart_figure(
        [Comparison(*c) for c in stored["series"]],
        jobcentre=stored["jobcentre"],
        group=stored["group"],
        measure=MeasureConfig.model_validate(stored["measure"]),
        threshold=ResultsThresholdConfig.model_validate(stored["threshold"]),
        language="da",
        since=stored["since"],
    )
    assert isinstance(drawn.canvas, FigureCanvasAgg)
    (ax,) = drawn.axes
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == [
        "Spænd i Klynge 1 (laveste–højeste)",
        "Gruppens gennemsnit (uden jobcenteret selv)",
        "Uden for tærsklen",
        "Jobby 3",
        "Periode uden for tærsklen",
    ], legend
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["Jobby 3"].get_ydata()) == [c[1] for c in stored["series"]]
    mean = list(lines["Gruppens gennemsnit (uden jobcenteret selv)"].get_ydata())
    assert mean == [c[2] for c in stored["series"]]
    # The threshold line: 10 % above the mean (lower unemployment is better).
    (edge,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert list(edge.get_ydata()) == pytest.approx([m * 1.1 for m in mean])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # the group's range and the band beyond the threshold
    assert ax.get_xlabel() == "Periode" and ax.get_ylabel() == "Ledighed (pct.)"
    assert "tærskel 10 %" in ax.get_title()
    ticks = [tick.get_text() for tick in ax.get_xticklabels()]
    assert ticks[0] == "dec. 2024" and "okt. 2025" in ticks


async def test_a_new_deviation_after_one_ended_is_alerted_once_more(
    world: tuple[Cli, AppContext], tmp_path: Path
) -> None:
    cli, ctx = world
    data = tmp_path / "jobindsats.csv"
    data.write_bytes(fixture_csv())
    await _run(cli, "results", "import", str(data))
    data.write_bytes(fixture_csv(["2026M12"], {(DRIFTER, "ledighed", "2026M12"): "5,0"}))
    assert "0 nye, 1 ophørt" in (await _run(cli, "results", "import", str(data))).stdout
    drift = {(DRIFTER, "ledighed", m): "6,0" for m in ("2027M01", "2027M02")}
    data.write_bytes(fixture_csv(["2027M01", "2027M02"], drift))
    again = await _run(cli, "results", "import", str(data))
    assert "1 nye, 0 ophørt; 5 beskeder i kø" in again.stdout, again.stdout
    found = await _outbox(ctx, "results.deviation.found")
    assert len(found) == 10 and len({r.key for r in found}) == 10
    assert sum(":ledighed:2027-01/" in r.key for r in found) == 5  # keyed by its start
    async with ctx.db.session() as session:
        rows = (
            (await session.execute(select(ResultDeviation).order_by(col(ResultDeviation.id))))
            .scalars()
            .all()
        )
    assert [(r.since_period, r.state) for r in rows] == [("2026-09", "ended"), ("2027-01", "open")]
    checked = await _run(cli, "results", "check", "--json")
    (only,) = json.loads(checked.stdout)
    assert (only["since"], only["period"]) == ("2027-01", "2027-02")
