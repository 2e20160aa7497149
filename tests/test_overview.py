"""The region's overview (issue 15): the cells, the CLI, the share link, signing in.

The browser's view (Chromium: accessibility, print, screenshot) is in
tests/test_overview_browser.py; these tests talk HTTP to the real server on loopback.
"""

from __future__ import annotations

import csv
import email
import functools
import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from email import policy
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.observability import Metrics
from bot.runner import drain
from bot.services.app import AppContext
from bot.services.overview.cells import (
    MILESTONES,
    CellState,
    EventFacts,
    HearingFacts,
    MeetingFacts,
    classify,
)
from bot.services.overview.load import region_overview
from bot.services.overview.share import overview_token
from bot.web import build_web_app
from bot.web_pages.pages import add_pages
from tests.cli_runner import Cli
from tests.overview_world import NOW, YEAR, region_world
from tests.servers import SlackStandIn, SmtpStandIn

M = {m.key: m for m in MILESTONES}
TODAY = date(2027, 8, 20)


def test_a_hearing_cell_follows_the_hearing() -> None:
    due = date(2027, 6, 16)
    assert classify(M["result_review"], None, TODAY) is None
    nothing = classify(M["result_review"], EventFacts(due, "planned"), TODAY)
    assert nothing is not None and nothing.state is CellState.LATE
    ahead = classify(M["result_review"], EventFacts(date(2027, 9, 1), "planned"), TODAY)
    assert ahead is not None and ahead.state is CellState.COMING
    closed = HearingFacts("closed", due, date(2027, 6, 20), 3, 2)
    cell = classify(M["result_review"], EventFacts(due, "planned", hearing=closed), TODAY)
    assert cell is not None and cell.state is CellState.DONE and cell.on == date(2027, 6, 20)
    assert (cell.answered, cell.invited, round(cell.share or 0, 2)) == (2, 3, 0.67)
    open_late = HearingFacts("open", due, None, 2, 0)
    cell = classify(M["result_review"], EventFacts(due, "planned", hearing=open_late), TODAY)
    assert cell is not None and cell.state is CellState.LATE
    running = HearingFacts("open", date(2027, 8, 31), None, 3, 1)
    cell = classify(M["plan_hearing"], EventFacts(due, "planned", hearing=running), TODAY)
    assert cell is not None and cell.state is CellState.OPEN and cell.on == date(2027, 8, 31)


def test_deadline_and_meeting_cells() -> None:
    for on, state in (
        (TODAY - timedelta(days=1), CellState.LATE),
        (TODAY, CellState.OPEN),
        (TODAY + timedelta(days=14), CellState.OPEN),
        (TODAY + timedelta(days=15), CellState.COMING),
    ):
        cell = classify(M["business_plan"], EventFacts(on, "planned"), TODAY)
        assert cell is not None and cell.state is state, on
    done = classify(M["business_plan"], EventFacts(TODAY - timedelta(days=9), "done"), TODAY)
    assert done is not None and done.state is CellState.DONE
    seminar = M["seminar"]
    held = MeetingFacts("planned", date(2027, 5, 27), True)
    cell = classify(seminar, EventFacts(date(2027, 5, 27), "planned", meeting=held), TODAY)
    assert cell is not None and cell.state is CellState.DONE
    cancelled = MeetingFacts("cancelled", date(2027, 5, 27), True)
    cell = classify(seminar, EventFacts(date(2027, 5, 27), "planned", meeting=cancelled), TODAY)
    assert cell is not None and cell.state is CellState.LATE
    invited = MeetingFacts("planned", date(2027, 10, 1), True)
    cell = classify(seminar, EventFacts(date(2027, 10, 1), "planned", meeting=invited), TODAY)
    assert cell is not None and cell.state is CellState.OPEN
    drafted = MeetingFacts("planned", date(2027, 10, 1), False)
    cell = classify(seminar, EventFacts(date(2027, 10, 1), "planned", meeting=drafted), TODAY)
    assert cell is not None and cell.state is CellState.COMING


EXPECTED = {
    "lbr-alfa": {
        "seminar": ("done", "2027-05-27"),
        "result_review": ("done", "2027-06-20"),
        "business_plan": ("done", "2027-08-17"),
        "plan_hearing": ("open", "2027-08-31"),
        "region_comments": ("coming", "2027-09-21"),
        "plan_adopted": ("coming", "2027-12-30"),
    },
    "lbr-beta": {
        "seminar": ("done", "2027-05-27"),
        "result_review": ("late", "2027-06-16"),
        "business_plan": ("late", "2027-08-17"),
        "plan_hearing": ("coming", "2027-08-31"),
        "region_comments": ("coming", "2027-09-21"),
        "plan_adopted": ("coming", "2027-12-30"),
    },
    "lbr-gamma": {
        "seminar": ("done", "2027-05-27"),
        "result_review": ("late", "2027-06-16"),
        "business_plan": ("late", "2027-08-17"),
        "plan_hearing": ("coming", "2027-08-31"),
        "region_comments": ("coming", "2027-09-21"),
        "plan_adopted": ("coming", "2027-12-30"),
    },
}


async def test_the_overview_of_a_region_with_three_lbrs(database_url: str, tmp_path: Path) -> None:
    async with region_world(database_url, tmp_path) as (ctx, _clock), ctx.db.session() as s:
        view = await region_overview(s, "rbr-nord", YEAR, today=ctx.today(), tz=ctx.tz)
    assert [r.key for r in view.rows] == ["lbr-alfa", "lbr-beta", "lbr-gamma"]
    for row in view.rows:
        got = {k: (c.state.value, c.on.isoformat()) for k, c in row.cells.items() if c and c.on}
        assert got == EXPECTED[row.key], row.key
    alfa, beta, _gamma = view.rows
    assert (alfa.cells["result_review"].answered, alfa.cells["result_review"].invited) == (2, 3)
    assert (alfa.cells["plan_hearing"].answered, alfa.cells["plan_hearing"].invited) == (1, 3)
    assert (beta.cells["result_review"].answered, beta.cells["result_review"].invited) == (0, 2)
    assert [(d.measure, d.since, d.deviation) for d in beta.deviations] == [
        ("in_work", "2027-05", "-18.0 %")
    ]
    assert [r.title for r in beta.recommendations] == ["Særligt fokus på de unges resultater"]
    assert beta.recommendations[0].sent_on == date(2027, 8, 10)
    assert alfa.deviations == [] and alfa.recommendations == []


async def test_an_answered_recommendation_and_an_ended_deviation_leave_the_overview(
    database_url: str, tmp_path: Path
) -> None:
    from sqlmodel import select

    from bot.services.hearings import Actor
    from bot.services.recommendations.sending import answer_recommendation
    from storage.results import ResultDeviation

    async with region_world(database_url, tmp_path) as (ctx, _clock):
        async with ctx.db.session() as s:
            view = await region_overview(s, "rbr-nord", YEAR, today=ctx.today(), tz=ctx.tz)
        beta = view.rows[1]
        assert beta.key == "lbr-beta" and len(beta.recommendations) == len(beta.deviations) == 1
        await answer_recommendation(
            ctx, Actor("test"), beta.recommendations[0].id, "Regionen tager det op."
        )
        async with ctx.db.transaction() as s:
            for row in (await s.exec(select(ResultDeviation))).all():
                row.state = "ended"
                s.add(row)
        async with ctx.db.session() as s:
            view = await region_overview(s, "rbr-nord", YEAR, today=ctx.today(), tz=ctx.tz)
        assert [(r.key, r.recommendations, r.deviations) for r in view.rows] == [
            (key, [], []) for key in EXPECTED
        ]


async def test_the_overview_csv_keeps_every_cell_inert(database_url: str, tmp_path: Path) -> None:
    from bot.services.overview.export import overview_csv

    async with region_world(database_url, tmp_path) as (ctx, _clock), ctx.db.session() as s:
        view = await region_overview(s, "rbr-nord", YEAR, today=ctx.today(), tz=ctx.tz)
    view.rows[0].name = '=HYPERLINK("https://evil.example","LBR Alfa")'
    view.rows[1].name = "+45 LBR Beta"
    rows = list(csv.reader(io.StringIO(overview_csv(view, "da"))))
    assert len(rows) == 1 + 3
    assert rows[1][1] == '\'=HYPERLINK("https://evil.example","LBR Alfa")'
    assert rows[2][1] == "'+45 LBR Beta" and rows[3][1] == "LBR Gamma"
    assert not any(cell[:1] in "=+-@\t\r" for row in rows for cell in row if cell)


class RegionCli(Cli):
    """The CLI with the region world's clock (20 August 2027)."""

    def __call__(self, *args: str, language: str = "da", **env: str):  # type: ignore[override]
        from typer.testing import CliRunner

        from bot.cli import build_cli
        from scheduler.clock import FixedClock

        app = build_cli(clock=FixedClock(NOW), language=language)
        return CliRunner().invoke(app, list(args), env={**self.env, **env})


async def _ready(database_url: str, tmp_path: Path) -> None:
    async with region_world(database_url, tmp_path):
        pass


def test_region_overview_cli_text_csv_json(database_url: str, tmp_path: Path) -> None:
    from tests.conftest import run_sync

    run_sync(lambda: _ready(database_url, tmp_path))
    cli = RegionCli(database_url, tmp_path / "config.toml")
    data = json.loads(cli.ok("region", "overview", "--council", "rbr-nord", "--format", "json"))
    assert data["year"] == YEAR and data["milestones"] == [m.key for m in MILESTONES]
    got = {
        c["council"]: {k: (v["state"], v["date"]) for k, v in c["cells"].items() if v}
        for c in data["councils"]
    }
    assert got == {k: dict(v) for k, v in EXPECTED.items()}
    assert data["councils"][0]["cells"]["result_review"]["answered"] == 2
    beta = data["councils"][1]
    assert [(d["measure"], d["since"], d["deviation"]) for d in beta["deviations"]] == [
        ("in_work", "2027-05", "-18.0 %")
    ]
    assert [(r["title"], r["sent"]) for r in beta["recommendations"]] == [
        ("Særligt fokus på de unges resultater", "2027-08-10")
    ]
    assert data["councils"][0]["deviations"] == data["councils"][0]["recommendations"] == []
    # --year: 2028 is not laid out yet, so no LBR has a cell in it.
    later = json.loads(
        cli.ok("region", "overview", "--council", "rbr-nord", "--year", "2028", "--format", "json")
    )
    assert later["year"] == 2028 and [c["council"] for c in later["councils"]] == list(EXPECTED)
    assert all(v is None for c in later["councils"] for v in c["cells"].values()), later
    cli.refused("region", "overview", "--council", "rbr-nord", "--year", "27", says=("27",))
    out = cli.ok("region", "overview", "--council", "rbr-nord", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) == 1 + 3 and rows[0][0] == "nøgle" and rows[0][1] == "LBR"
    assert [r[0] for r in rows[1:]] == ["lbr-alfa", "lbr-beta", "lbr-gamma"]
    assert rows[1][3] == "udført 2027-06-20 (2/3)"
    text = cli.ok("region", "overview", "--council", "rbr-nord")
    assert "RBR Nord 2027: 3 LBR'er" in text and "LBR Beta" in text and "forsinket" in text
    english = cli.ok(
        "region", "overview", "--council", "rbr-nord", AARSHJUL__GENERAL__LANGUAGE="en"
    )
    assert "Seminar held" in english
    cli.refused("region", "overview", "--council", "lbr-alfa", says=("ikke et regionalt",))
    cli.refused("region", "overview", "--council", "rbr-nope", says=("ukendt råd 'rbr-nope'",))
    cli.refused("region", "overview", "--council", "rbr-nord", "--format", "xml", says=("xml",))
    cli.refused("councils", "overview-link", "--council", "lbr-alfa", says=("ikke et regionalt",))
    first = cli.ok("councils", "overview-link", "--council", "rbr-nord").strip()
    assert first.startswith("/overview/rbr-nord?token=")
    assert cli.ok("councils", "overview-link", "--council", "rbr-nord").strip() == first
    rotated = cli.ok("councils", "overview-link", "--council", "rbr-nord", "--rotate").strip()
    assert rotated != first and rotated.startswith("/overview/rbr-nord?token=")


def test_cycle_done_marks_a_deadline_and_withdraws_its_reminders(
    database_url: str, tmp_path: Path
) -> None:
    from tests.conftest import run_sync

    run_sync(lambda: _ready(database_url, tmp_path))
    cli = RegionCli(database_url, tmp_path / "config.toml")
    cli.ok("remind", "sync")
    event = ("--council", "lbr-beta", "--event", "employment_plan_hearing")
    out = cli.ok("cycle", "done", *event)
    found = re.search(r"^Udført: Høringsfrist: beskæftigelsesplanen i LBR .*; (\d+) planlagte", out)
    assert found is not None and int(found.group(1)) >= 2, out  # Bo's and Bodil's reminders
    cli.refused("cycle", "done", *event, says=("allerede markeret som udført",))
    cli.refused("cycle", "done", "--council", "lbr-beta", "--event", "nope", says=("nope",))
    data = json.loads(cli.ok("region", "overview", "--council", "rbr-nord", "--format", "json"))
    beta = next(c for c in data["councils"] if c["council"] == "lbr-beta")
    assert beta["cells"]["plan_hearing"]["state"] == "done"
    assert "udført" in cli.ok("cycle", "show", "--council", "lbr-beta", "--year", "2027")
    back = cli.ok("cycle", "done", *event, "--undo")
    assert back.startswith("Ikke længere udført")
    cli.refused("cycle", "done", *event, "--undo", says=("ikke markeret som udført",))
    data = json.loads(cli.ok("region", "overview", "--council", "rbr-nord", "--format", "json"))
    beta = next(c for c in data["councils"] if c["council"] == "lbr-beta")
    assert beta["cells"]["plan_hearing"]["state"] == "coming"


@asynccontextmanager
async def serving(ctx: AppContext) -> AsyncIterator[str]:
    app = build_web_app(
        ctx.db, ctx.clock, Metrics(), lambda: True, pages=functools.partial(add_pages, ctx)
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_the_share_link_shows_the_overview_and_a_wrong_token_gets_404(
    database_url: str, tmp_path: Path
) -> None:
    async with region_world(database_url, tmp_path) as (ctx, _clock), serving(ctx) as base:
        async with ctx.db.transaction() as s:
            _, token = await overview_token(s, ctx, "rbr-nord", rotate=False, actor="t")
            _, other = await overview_token(s, ctx, "rbr-syd", rotate=False, actor="t")
        async with _browser() as http:
            async with http.get(f"{base}/overview/rbr-nord?token={token}") as r:
                page = await r.text()
                assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
                assert "default-src 'none'" in r.headers["Content-Security-Policy"]
            assert "LBR Alfa" in page and "LBR Gamma" in page and "LBR Delta" not in page
            assert page.count('data-state="late"') == 4 and 'lang="da"' in page
            async with http.get(f"{base}/overview/rbr-nord?token={token}&lang=en") as r:
                assert 'lang="en"' in await r.text()
            for bad in (
                f"rbr-nord?token={other}",
                "rbr-nord?token=wrong",
                "rbr-nord?token=",
                f"rbr-nope?token={token}",
                f"lbr-alfa?token={token}",
            ):
                async with http.get(f"{base}/overview/{bad}", allow_redirects=False) as r:
                    body = await r.text()
                    assert r.status == 404, bad
                    assert "LBR" not in body
            async with ctx.db.transaction() as s:
                _, rotated = await overview_token(s, ctx, "rbr-nord", rotate=True, actor="t")
            async with http.get(f"{base}/overview/rbr-nord?token={token}") as r:
                assert r.status == 404
            async with http.get(f"{base}/overview/rbr-nord?token={rotated}") as r:
                assert r.status == 200


async def test_without_a_session_every_page_is_the_sign_in(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        region_world(database_url, tmp_path) as (ctx, _clock),
        serving(ctx) as base,
        _browser() as http,
    ):
        for path in ("/", "/overview/rbr-nord", "/council/lbr-alfa", "/council/lbr-nope"):
            async with http.get(base + path) as r:
                page = await r.text()
                assert r.status == 200 and str(r.url.path) == "/signin", path
                assert "LBR Alfa" not in page and "Anna" not in page
        # The council's wheel needs the page's access too: no picture without a session.
        async with http.get(base + "/council/lbr-alfa/wheel.png", allow_redirects=False) as r:
            assert r.status == 404 and not (await r.read()).startswith(b"\x89PNG")
        # A forged cookie is no session.
        http.cookie_jar.update_cookies({"aarshjul_session": "eyJwaWQiOjF9.AAAA"})
        async with http.get(base + "/overview/rbr-nord") as r:
            assert str(r.url.path) == "/signin"


async def _sign_in_by_mail(
    http: aiohttp.ClientSession,
    base: str,
    ctx: AppContext,
    smtp: SmtpStandIn,
    address: str,
    next_path: str = "/",
) -> str:
    await drain(ctx)  # what the world queued before (hearing announcements)
    smtp.messages.clear()
    async with http.get(f"{base}/signin?next={next_path}") as r:
        page = await r.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    async with http.post(
        f"{base}/signin/email", data={"csrf": csrf.group(1), "email": address, "next": next_path}
    ) as r:
        assert r.status == 200 and "15 minutter" in await r.text()
    await drain(ctx)
    mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
    assert [m["To"] for m in mails] == [address]
    body = mails[0].get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/signin/link\?token=\S+)", body)
    assert link is not None
    return link.group(1).replace(re.match(r"http://[^/]+", link.group(1)).group(0), base)


async def test_signing_in_with_an_e_mailed_link(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, _clock),
        serving(ctx) as base,
        _browser() as http,
    ):
        link = await _sign_in_by_mail(
            http, base, ctx, smtp, "rita@example.dk", "/overview/rbr-nord"
        )
        async with http.get(link, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/overview/rbr-nord"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        async with http.get(f"{base}/overview/rbr-nord") as r:
            page = await r.text()
            assert r.status == 200 and "LBR Beta" in page and "Rita Regional" in page
        async with http.get(f"{base}/council/lbr-beta") as r:
            assert r.status == 200  # an RBR member sees each LBR of the region
        async with http.get(f"{base}/overview/rbr-syd") as r:
            assert r.status == 403 and "LBR Delta" not in await r.text()
        async with http.get(f"{base}/council/lbr-delta") as r:
            assert r.status == 403 and "Dan Delta" not in await r.text()
        # The sign-out form carries the session's CSRF token; a post without it (a
        # forged form on another site) signs nobody out.
        async with http.post(f"{base}/signout", data={"csrf": "forged"}) as r:
            assert r.status == 403
        async with http.get(f"{base}/overview/rbr-nord") as r:
            page = await r.text()
            assert r.status == 200 and "LBR Beta" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        async with http.post(
            f"{base}/signout", data={"csrf": csrf.group(1)}, allow_redirects=False
        ) as r:
            assert r.status == 302 and r.headers["Location"] == "/signin"
        async with http.get(f"{base}/overview/rbr-nord") as r:
            assert str(r.url.path) == "/signin" and "LBR Beta" not in await r.text()
        async with _browser() as other:
            # The link is used up; a second click (or a leaked copy) opens nothing.
            async with other.get(link, allow_redirects=False) as r:
                assert r.status == 400
            async with other.get(f"{base}/overview/rbr-nord") as r:
                assert str(r.url.path) == "/signin"


async def test_an_lbr_member_sees_only_their_council(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, _clock),
        serving(ctx) as base,
        _browser() as http,
    ):
        link = await _sign_in_by_mail(http, base, ctx, smtp, "bent@example.dk")
        async with http.get(link) as r:
            start = await r.text()
            assert r.status == 200 and "/council/lbr-alfa" in start
        async with http.get(f"{base}/council/lbr-alfa") as r:
            page = await r.text()
        assert r.status == 200 and "Beskæftigelsesplan 2028" in page
        assert "Cecilie Åby" in page and "har svaret" in page and "mangler" in page
        assert 'src="/council/lbr-alfa/wheel.png?lang=da"' in page
        async with http.get(f"{base}/council/lbr-alfa/wheel.png") as r:
            assert r.status == 200 and r.content_type == "image/png"
            assert (await r.read())[:8] == b"\x89PNG\r\n\x1a\n"
        async with http.get(f"{base}/council/lbr-beta/wheel.png") as r:
            assert r.status == 404  # another council's wheel: nothing
        for path in ("/overview/rbr-nord", "/council/lbr-beta", "/overview/rbr-syd"):
            async with http.get(base + path) as r:
                body = await r.text()
                assert r.status == 403, path
                assert "LBR Beta" not in body.replace("/council/lbr-alfa", "")


async def test_an_e_mailed_link_clicked_five_times_at_once_opens_one_session(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    import asyncio

    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, _clock),
        serving(ctx) as base,
        _browser() as http,
    ):
        link = await _sign_in_by_mail(http, base, ctx, smtp, "gitte@example.dk")

        async def click() -> int:
            async with _browser() as other, other.get(link, allow_redirects=False) as r:
                return r.status

        statuses = await asyncio.gather(*(click() for _ in range(5)))
        assert sorted(statuses) == [302, 400, 400, 400, 400], statuses


async def test_secretaries_see_what_their_councils_members_see(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, _clock),
        serving(ctx) as base,
    ):
        async with _browser() as http:  # the RBR's secretary: the region and its LBRs
            link = await _sign_in_by_mail(
                http, base, ctx, smtp, "rune@example.dk", "/overview/rbr-nord"
            )
            async with http.get(link) as r:
                page = await r.text()
                assert r.status == 200 and str(r.url.path) == "/overview/rbr-nord"
                assert "LBR Gamma" in page and page.count('data-state="late"') == 4
            async with http.get(f"{base}/council/lbr-gamma") as r:
                assert r.status == 200 and "LBR Gamma" in await r.text()
            for path in ("/overview/rbr-syd", "/council/lbr-delta"):
                async with http.get(base + path) as r:
                    assert r.status == 403 and "Delta" not in await r.text(), path
        async with _browser() as http:  # an LBR's secretary: that council only
            link = await _sign_in_by_mail(
                http, base, ctx, smtp, "sara@example.dk", "/council/lbr-alfa"
            )
            async with http.get(link) as r:
                page = await r.text()
                assert r.status == 200 and str(r.url.path) == "/council/lbr-alfa"
                assert "Beskæftigelsesplan 2028" in page and "Cecilie Åby" in page
            for path in ("/overview/rbr-nord", "/council/lbr-beta"):
                async with http.get(base + path) as r:
                    assert r.status == 403 and "Bodil" not in await r.text(), path
        # App Home: the region's section for the RBR's secretary, none for the LBR's.
        from sqlmodel import select

        from bot.handlers.home_region import region_blocks
        from storage.models import Person

        async with ctx.db.session() as s:
            rune, sara = [
                (await s.exec(select(Person).where(Person.email == e))).one()
                for e in ("rune@example.dk", "sara@example.dk")
            ]
            home = json.dumps(await region_blocks(ctx, s, rune, "da", "https://x.dk"))
            assert "RBR Nord 2027: 3 LBR" in home and "LBR Beta" in home
            assert await region_blocks(ctx, s, sara, "da", "https://x.dk") == []


async def test_an_expired_link_an_unknown_address_and_a_missing_csrf_token(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, clock),
        serving(ctx) as base,
        _browser() as http,
    ):
        link = await _sign_in_by_mail(http, base, ctx, smtp, "gitte@example.dk")
        fresh_link = await _sign_in_by_mail(http, base, ctx, smtp, "bo@example.dk")
        # Valid for 15 minutes: at 14:59 it opens a session, after 15 it is refused.
        clock.set(NOW + timedelta(minutes=14, seconds=59))
        async with _browser() as other, other.get(fresh_link, allow_redirects=False) as r:
            assert r.status == 302 and "aarshjul_session=" in r.headers["Set-Cookie"]
        clock.set(NOW + timedelta(minutes=15, seconds=1))
        async with http.get(link, allow_redirects=False) as r:
            assert r.status == 400 and "Set-Cookie" not in r.headers
        clock.set(NOW + timedelta(minutes=16))
        async with http.get(link, allow_redirects=False) as r:
            assert r.status == 400
        clock.set(NOW)
        async with http.get(f"{base}/signin") as r:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
        smtp.messages.clear()
        async with http.post(
            f"{base}/signin/email", data={"csrf": csrf, "email": "stranger@example.org"}
        ) as r:
            assert r.status == 200  # the same answer as for a member
        async with http.post(
            f"{base}/signin/email", data={"csrf": "forged", "email": "gitte@example.dk"}
        ) as r:
            assert r.status == 403
        async with (
            _browser() as fresh,
            fresh.post(f"{base}/signin/email", data={"email": "gitte@example.dk"}) as r,
        ):
            assert r.status == 403
        await drain(ctx)
        assert smtp.messages == []


async def test_sign_in_with_slack_through_the_stand_ins_openid_endpoints(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    environ = {
        "SLACK_API_URL": slack.base_url,
        "SLACK_CLIENT_ID": slack.oidc_client[0],
        "SLACK_CLIENT_SECRET": slack.oidc_client[1],
        "AARSHJUL_WEB_SECRET": "a-test-secret-of-enough-length",
    }
    async with region_world(database_url, tmp_path, **environ) as (ctx, _clock):
        object.__setattr__(ctx.config.settings.web, "slack_authorize_url", slack.authorize_url)
        async with serving(ctx) as base:
            object.__setattr__(ctx.config.settings.web, "public_url", base)
            async with _browser() as http:
                slack.oidc_next_user = {
                    "id": "U0ANNA001",
                    "email": "anna@example.dk",
                    "name": "Anna",
                }
                async with http.get(f"{base}/signin?next=/council/lbr-alfa") as r:
                    page = await r.text()
                assert "Log ind med Slack" in page
                async with http.get(f"{base}/signin/slack?next=/council/lbr-alfa") as r:
                    assert r.status == 200 and str(r.url.path) == "/council/lbr-alfa"
                    assert "Beskæftigelsesplan 2028" in await r.text()
                token_calls = slack.calls_to("openid.connect.token")
                assert len(token_calls) == 1 and token_calls[0].ok
                assert slack.calls_to("openid.connect.userInfo")[0].ok
                async with http.get(f"{base}/overview/rbr-nord") as r:
                    assert r.status == 403
            async with _browser() as http:
                # Found by a verified e-mail when Slack's user id is not stored.
                slack.oidc_next_user = {"id": "UOTHER", "email": "Rita@Example.dk", "name": "R"}
                async with http.get(f"{base}/signin/slack?next=/overview/rbr-nord") as r:
                    assert r.status == 200 and "LBR Gamma" in await r.text()
            async with _browser() as http:
                slack.oidc_next_user = {"id": "UNOBODY", "email": "nobody@example.org"}
                async with http.get(f"{base}/signin/slack") as r:
                    assert r.status == 403 and "Kontakt sekretariatet" in await r.text()
                # A callback with a state that is not this browser's is refused.
                async with http.get(f"{base}/signin/slack/callback?code=code-1&state=forged") as r:
                    assert r.status == 400


async def test_sign_in_with_slack_refuses_a_foreign_nonce_and_an_unverified_e_mail(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    from urllib.parse import parse_qs, urlencode, urlsplit

    environ = {
        "SLACK_API_URL": slack.base_url,
        "SLACK_CLIENT_ID": slack.oidc_client[0],
        "SLACK_CLIENT_SECRET": slack.oidc_client[1],
        "AARSHJUL_WEB_SECRET": "a-test-secret-of-enough-length",
    }
    async with region_world(database_url, tmp_path, **environ) as (ctx, _clock):
        object.__setattr__(ctx.config.settings.web, "slack_authorize_url", slack.authorize_url)
        async with serving(ctx) as base:
            object.__setattr__(ctx.config.settings.web, "public_url", base)
            slack.oidc_next_user = {"id": "U0RITA001", "email": "rita@example.dk"}
            async with _browser() as http:
                # Slack's answer carries a nonce that is not the one this browser was given
                # (a code obtained for another sign-in): no session.
                async with http.get(f"{base}/signin/slack", allow_redirects=False) as r:
                    authorize = urlsplit(r.headers["Location"])
                query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
                assert query["nonce"] and query["state"]
                query["nonce"] = "someone-elses-nonce"
                forged = authorize._replace(query=urlencode(query)).geturl()
                async with http.get(forged, allow_redirects=False) as r:
                    callback = r.headers["Location"]
                async with http.get(callback, allow_redirects=False) as r:
                    assert r.status == 400 and "Set-Cookie" not in r.headers
                async with http.get(f"{base}/overview/rbr-nord") as r:
                    assert str(r.url.path) == "/signin"
                assert slack.calls_to("openid.connect.token")[-1].ok  # Slack said yes
            async with _browser() as http:
                # A Slack account not on record whose e-mail Slack has not verified is not
                # taken for the member with that address.
                slack.oidc_next_user = {
                    "id": "UNOTRITA",
                    "email": "rita@example.dk",
                    "email_verified": False,
                }
                async with http.get(f"{base}/signin/slack?next=/overview/rbr-nord") as r:
                    assert r.status == 403 and "LBR Gamma" not in await r.text()


async def test_app_home_shows_the_region_to_its_rbr_members_only(
    database_url: str, tmp_path: Path
) -> None:
    from sqlmodel import select

    from bot.handlers.home_region import region_blocks
    from storage.models import Person

    async with region_world(database_url, tmp_path) as (ctx, _clock), ctx.db.session() as s:
        rita = (await s.exec(select(Person).where(Person.email == "rita@example.dk"))).one()
        bent = (await s.exec(select(Person).where(Person.email == "bent@example.dk"))).one()
        blocks = await region_blocks(ctx, s, rita, "da", "https://aarshjul.example.dk")
        assert await region_blocks(ctx, s, bent, "da", "https://aarshjul.example.dk") == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Regionens oversigt: RBR Nord*" in text
    assert "RBR Nord 2027: 3 LBR'er; 5 udført, 4 forsinket" in text
    assert "• LBR Beta: 2 forsinket, 1 afvigelser, 1 ubesvarede indstillinger" in text
    assert "• LBR Gamma: 2 forsinket, 0 afvigelser, 0 ubesvarede indstillinger" in text
    assert "LBR Alfa" not in text  # nothing needs attention there
    assert "<https://aarshjul.example.dk/overview/rbr-nord|Åbn regionens oversigt>" in text


async def test_the_weekly_overview_mail_goes_to_the_rbr_secretariat_once(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.services.reminders import sync_reminders

    monday = datetime(2027, 8, 23, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen")).astimezone(UTC)
    async with region_world(database_url, tmp_path, smtp_port=smtp.port) as (ctx, clock):
        await drain(ctx)  # the world's hearing announcements
        async with ctx.db.transaction() as s:
            await sync_reminders(s, ctx)
        # Friday: planned for Monday, nothing goes yet.
        smtp.messages.clear()
        await drain(ctx)
        friday = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert not [m for m in friday if str(m["Subject"]).startswith("Ugens oversigt")]
        clock.set(monday)
        async with ctx.db.transaction() as s:
            await sync_reminders(s, ctx)
        smtp.messages.clear()
        await drain(ctx)
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        weekly = [m for m in mails if m["Subject"] == "Ugens oversigt: RBR Nord"]
        assert [m["To"] for m in weekly] == ["rbr-nord@example.dk"]
        body = weekly[0].get_body(("plain",)).get_content()
        assert "RBR Nord 2027: 3 LBR'er" in body
        assert "LBR Beta: Seminar afholdt: udført 2027-05-27; " in body
        assert "Resultatrevision: høring afsluttet: forsinket 2027-06-16 (0/2)" in body
        assert "Særligt fokus på de unges resultater" in body
        assert "/overview/rbr-nord" in body
        assert not [m for m in mails if "RBR Syd" in str(m["Subject"])]  # no secretariat
        smtp.messages.clear()
        async with ctx.db.transaction() as s:
            await sync_reminders(s, ctx)
        await drain(ctx)
        again = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert [m for m in again if m["Subject"] == "Ugens oversigt: RBR Nord"] == []


def test_the_manifest_declares_sign_in_with_slack() -> None:
    import yaml

    from tests.conftest import REPO

    manifest = yaml.safe_load((REPO / "slack-manifest.yml").read_text(encoding="utf-8"))
    oauth = manifest["oauth_config"]
    assert set(oauth["scopes"]["user"]) == {"openid", "email", "profile"}
    assert [u.rsplit("/", 3)[-3:] for u in oauth["redirect_urls"]] == [
        ["signin", "slack", "callback"]
    ]


async def test_cookies_are_secure_behind_https(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    from bot.web_pages import public_base_url
    from bot.web_pages.signin import request_link

    async with region_world(
        database_url,
        tmp_path,
        smtp_port=smtp.port,
        AARSHJUL__WEB__PUBLIC_URL="https://aarshjul.example.dk/",
    ) as (ctx, _clock):
        async with serving(ctx) as base, _browser() as http, http.get(f"{base}/signin") as r:
            cookie = r.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        await drain(ctx)
        smtp.messages.clear()
        base_url = public_base_url(ctx.config)
        assert base_url == "https://aarshjul.example.dk"
        assert await request_link(ctx, "bent@example.dk", "/", base_url=base_url, language="da")
        await drain(ctx)
        body = email.message_from_bytes(smtp.messages[-1].data, policy=policy.default)
        text = body.get_body(("plain",)).get_content()
        assert "https://aarshjul.example.dk/signin/link?token=" in text
