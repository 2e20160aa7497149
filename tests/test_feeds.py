"""The subscribable cycle calendar: GET /calendar/{council}.ics?token=…"""

from __future__ import annotations

import functools
from pathlib import Path

import aiohttp
import icalendar
from aiohttp import web

from bot.observability import Metrics
from bot.services.councils import list_councils
from bot.services.cycle import instantiate_year
from bot.services.feeds import feed, feed_token
from bot.web import build_web_app
from tests.test_meetings import world


async def test_the_feed_needs_the_councils_current_token(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, None) as (ctx, clock):
        async with ctx.db.transaction() as s:
            for council in await list_councils(s):
                for year in (2027, 2028):
                    await instantiate_year(
                        s, council, year, ctx.template, ctx.calendar, now=clock.now(), actor="t"
                    )
            _, token = await feed_token(s, ctx, "lbr-test", rotate=False, actor="t")
            _, same = await feed_token(s, ctx, "lbr-test", rotate=False, actor="t")
            _, other = await feed_token(s, ctx, "rbr-test", rotate=False, actor="t")
        assert token == same and token != other and len(token) >= 32
        app = build_web_app(
            ctx.db, clock, Metrics(), lambda: True, calendars=functools.partial(feed, ctx)
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/calendar"
        try:
            async with aiohttp.ClientSession() as http:

                async def get(path: str) -> tuple[int, str, bytes]:
                    async with http.get(f"{base}/{path}") as r:
                        return r.status, r.headers.get("Content-Type", ""), await r.read()

                status, kind, body = await get(f"lbr-test.ics?token={token}")
                assert status == 200 and kind.startswith("text/calendar")
                events = icalendar.Calendar.from_ical(body).walk("VEVENT")
                uids = {str(e["UID"]) for e in events}
                assert any(u.startswith("lbr-test-2027-") for u in uids)
                assert any(u.startswith("lbr-test-2028-") for u in uids)
                assert (await get(f"lbr-test.ics?token={other}"))[0] == 404  # another's token
                assert (await get("lbr-test.ics?token=wrong"))[0] == 404
                assert (await get("lbr-test.ics"))[0] == 404
                assert (await get(f"lbr-nope.ics?token={token}"))[0] == 404
                async with ctx.db.transaction() as s:
                    _, rotated = await feed_token(s, ctx, "lbr-test", rotate=True, actor="t")
                assert rotated != token
                assert (await get(f"lbr-test.ics?token={token}"))[0] == 404
                assert (await get(f"lbr-test.ics?token={rotated}"))[0] == 200
        finally:
            await runner.cleanup()
