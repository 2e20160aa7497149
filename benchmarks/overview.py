"""The region's overview page: 4 RBRs × 91 LBRs, per page, on SQLite or PostgreSQL.

Prints figures, asserts nothing. A database with the real shape of the Danish councils
(4 regions, 91 LBRs of 8 members, the 2027 cycle of each, a result-review hearing per
LBR with answers, half of them closed, an open employment-plan hearing per LBR, open
deviations and unanswered recommendations) is built once. Then every region's page is
fetched over HTTP from the bot's real server (``GET /overview/{rbr}?token=``: the
queries, the cells, the template, aiohttp), 25 times each, and, as the baseline in the
same run, the same template is rendered from the same values computed beforehand (no
database). The target is ≤ 200 ms per page.

    python benchmarks/overview.py [--database-url postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import platform
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from benchmarks.fanout import _database
from bot.config import load_config
from bot.observability import Metrics
from bot.services.app import open_app
from bot.services.councils import get_council, list_councils, sync_councils
from bot.services.cycle import instantiate_year, year_events
from bot.services.members import import_members
from bot.services.overview.load import region_overview
from bot.services.overview.share import overview_token
from bot.web import build_web_app
from bot.web_pages.pages import Words, add_pages, environment
from bot.web_pages.views import overview_values
from scheduler.clock import FixedClock
from storage.models import Hearing, HearingAnswer, HearingInvitee, Membership
from storage.recommendations import Recommendation
from storage.results import ResultDeviation

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 8, 20, 9, 0, tzinfo=CPH).astimezone(UTC)
REGIONS = ("rbr-hovedstaden", "rbr-sjaelland", "rbr-syddanmark", "rbr-nordjylland")
LBRS, MEMBERS, ROUNDS = 91, 8, 25


def _config(folder: Path) -> str:
    parts = ['[email]\nbackend = "file"\n', f'folder = "{(folder / "mail").as_posix()}"\n']
    for key in REGIONS:
        parts.append(f'\n[[councils]]\nkey = "{key}"\nkind = "RBR"\nname = "RBR {key[4:]}"\n')
    for n in range(LBRS):
        region = REGIONS[n % len(REGIONS)]
        parts.append(
            f'\n[[councils]]\nkey = "lbr-{n:03d}"\nkind = "LBR"\nname = "LBR Kommune {n:03d}"\n'
            f'region = "{region}"\n'
        )
    return "".join(parts)


def _members() -> bytes:
    rows = ["council,name,email,organisation,role"]
    for n in range(LBRS):
        for m in range(MEMBERS):
            role = "chair" if m == 0 else "member"
            rows.append(f"lbr-{n:03d},Medlem {n:03d}-{m},m{n:03d}.{m}@example.dk,LO,{role}")
    return ("\n".join(rows) + "\n").encode()


async def _populate(ctx) -> dict[str, str]:  # type: ignore[no-untyped-def]
    now = NOW
    async with ctx.db.transaction() as s:
        await sync_councils(s, ctx.config.settings.councils, now=now, actor="bench")
        await import_members(s, _members(), now=now, actor="bench")
        for council in await list_councils(s):
            await instantiate_year(s, council, 2027, ctx.template, ctx.calendar, now=now, actor="b")
    async with ctx.db.transaction() as s:
        for n in range(LBRS):
            council = await get_council(s, f"lbr-{n:03d}")
            region = await get_council(s, REGIONS[n % len(REGIONS)])
            events = {e.template_key: e for e in await year_events(s, council, 2027)}
            seats = (
                await s.exec(
                    Membership.__table__.select().where(Membership.council_id == council.id)
                )
            ).all()
            for subject, key, deadline, closed in (
                ("result_review", "result_review_hearing", date(2027, 6, 16), n % 2 == 0),
                ("employment_plan", "employment_plan_hearing", date(2027, 8, 31), False),
            ):
                hearing = Hearing(
                    council_id=council.id,
                    title=f"{subject} {n}",
                    subject=subject,
                    deadline=deadline,
                    state="closed" if closed else "open",
                    cycle_event_id=events[key].id,
                    opened_by="bench",
                    opened_at=now,
                    closed_at=now if closed else None,
                    created_at=now,
                    updated_at=now,
                )
                s.add(hearing)
                await s.flush()
                for i, seat in enumerate(seats):
                    s.add(HearingInvitee(hearing_id=hearing.id, person_id=seat.person_id))
                    if i % 2 == 0:
                        s.add(
                            HearingAnswer(
                                hearing_id=hearing.id,
                                person_id=seat.person_id,
                                answered_by_id=seat.person_id,
                                position="support",
                                answered_at=now,
                                created_at=now,
                                updated_at=now,
                            )
                        )
            if n % 5 == 0:
                s.add(
                    ResultDeviation(
                        council_id=council.id,
                        region_id=region.id,
                        measure="in_work",
                        since_period="2027-05",
                        last_period="2027-07",
                        value=41.0,
                        group_mean=50.0,
                        difference=-9.0,
                        percent=-18.0,
                        periods=3,
                        threshold_kind="percent",
                        threshold=10.0,
                        state="open",
                        found_at=now,
                        updated_at=now,
                    )
                )
            if n % 7 == 0:
                s.add(
                    Recommendation(
                        from_council_id=council.id,
                        to_council_id=region.id,
                        title=f"Indstilling {n}",
                        state="sent",
                        created_by="bench",
                        sent_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
    tokens = {}
    async with ctx.db.transaction() as s:
        for key in REGIONS:
            tokens[key] = (await overview_token(s, ctx, key, rotate=False, actor="bench"))[1]
    return tokens


def _ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"p50 {statistics.median(values) * 1000:6.1f} ms  p95 {q[18] * 1000:6.1f} ms"


async def run(database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "config.toml").write_text(_config(root), encoding="utf-8")
        url = database_url or f"sqlite+aiosqlite:///{root / 'bench.db'}"
        config = load_config(environ={"DATABASE_URL": url}, cwd=root)
        async with open_app(config, FixedClock(NOW)) as ctx:
            await ctx.db.upgrade()
            tokens = await _populate(ctx)
            env = environment()
            template = env.get_template("web/overview.html.j2")
            app = build_web_app(
                ctx.db, ctx.clock, Metrics(), lambda: True, pages=functools.partial(add_pages, ctx)
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            # The baseline's values: computed once, before the clock starts.
            precomputed = {}
            async with ctx.db.session() as s:
                for key in REGIONS:
                    view = await region_overview(s, key, 2027, today=ctx.today(), tz=ctx.tz)
                    precomputed[key] = overview_values(view, "da", linked=False, now=NOW)
            # One untimed round first: SQLAlchemy's statement cache and Jinja's compiled
            # template are warm in a bot that has served a page since it started.
            async with aiohttp.ClientSession() as http:
                started = time.perf_counter()
                async with http.get(f"{base}/overview/{REGIONS[0]}?token={tokens[REGIONS[0]]}"):
                    first = time.perf_counter() - started
                for key in REGIONS[1:]:
                    async with http.get(f"{base}/overview/{key}?token={tokens[key]}") as r:
                        await r.read()
            page_times: list[float] = []
            bare_times: list[float] = []
            sizes = []
            async with aiohttp.ClientSession() as http:
                for _ in range(ROUNDS):
                    for key in REGIONS:
                        started = time.perf_counter()
                        async with http.get(f"{base}/overview/{key}?token={tokens[key]}") as r:
                            body = await r.read()
                            assert r.status == 200
                        page_times.append(time.perf_counter() - started)
                        sizes.append(len(body))
                        started = time.perf_counter()
                        template.render(
                            lang="da",
                            title="t",
                            words=Words("da"),
                            person=None,
                            csrf="",
                            other_lang="en",
                            other_lang_url="/",
                            **precomputed[key],
                        )
                        bare_times.append(time.perf_counter() - started)
            await runner.cleanup()
    kind = "PostgreSQL" if database_url else "SQLite"
    print(f"# overview page, {kind}, {len(REGIONS)} RBRs x {LBRS} LBRs, {ROUNDS} rounds")
    machine = f"{platform.machine()}, {platform.processor() or platform.system()}"
    print(
        f"# {machine}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    size = f"{statistics.mean(sizes) / 1024:.0f} KiB"
    print(f"GET /overview/{{rbr}} over HTTP: {_ms(page_times)}  ({size})")
    print(f"the first page after start (cold caches): {first * 1000:.1f} ms")
    print(f"template alone, values precomputed: {_ms(bare_times)}")
    ratio = statistics.median(page_times) / statistics.median(bare_times)
    verdict = "within" if statistics.quantiles(page_times, n=20)[18] <= 0.2 else "OVER"
    print(f"page / bare template (p50): {ratio:.1f} x; p95 {verdict} the 200 ms target")


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is made)")
    args = parser.parse_args()
    with _database(args.database_url) as url:
        asyncio.run(run(url))


if __name__ == "__main__":
    main()
