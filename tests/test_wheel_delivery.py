"""The wheel delivered: ``GET /calendar/{council}/wheel.png?token=``, ``/cycle wheel`` in
Slack (a file through the outbox) and the Monday digest's inline image (SMTP), each on
real servers on loopback and both databases."""

from __future__ import annotations

import email
import functools
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import aiohttp
from aiohttp import web
from PIL import Image
from sqlmodel import col, select

from bot.config import load_config
from bot.observability import Metrics
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.councils import get_council, list_councils, sync_councils
from bot.services.cycle import instantiate_year
from bot.services.feeds import feed_token
from bot.services.members import import_members
from bot.services.reminders import sync_reminders
from bot.services.wheel.draw import SIZE
from bot.services.wheel.year import wheel_png
from bot.web import build_web_app
from scheduler.clock import FixedClock
from storage.models import OutboxMessage
from tests.conftest import snapshot
from tests.servers import SlackStandIn, SmtpStandIn
from tests.slack_world import slack_world
from tests.test_meetings import CPH, world
from tests.test_slack_hearing import START


async def store_years(ctx: AppContext, *years: int) -> None:
    async with ctx.db.transaction() as s:
        for council in await list_councils(s):
            for year in years:
                await instantiate_year(
                    s, council, year, ctx.template, ctx.calendar, now=ctx.clock.now(), actor="t"
                )


def png_of(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG" and picture.size == (SIZE, SIZE)
    return picture


# --- the web route -------------------------------------------------------------------


async def test_the_wheel_png_needs_the_feeds_token(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, None) as (ctx, clock):
        await store_years(ctx, 2027)
        async with ctx.db.transaction() as s:
            _, token = await feed_token(s, ctx, "lbr-test", rotate=False, actor="t")
            _, other = await feed_token(s, ctx, "rbr-test", rotate=False, actor="t")
        app = build_web_app(
            ctx.db, clock, Metrics(), lambda: True, wheels=functools.partial(wheel_png, ctx)
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/calendar"
        try:
            async with aiohttp.ClientSession() as http:

                async def get(path: str) -> tuple[int, str, bytes, float]:
                    started = time.perf_counter()
                    async with http.get(f"{base}/{path}") as r:
                        body = await r.read()
                        took = time.perf_counter() - started
                        return r.status, r.headers.get("Content-Type", ""), body, took

                status, kind, body, _ = await get(f"lbr-test/wheel.png?token={token}")
                assert status == 200 and kind == "image/png"
                png_of(body)
                # Drawn afresh for another day (the memo is per day): time a real drawing.
                clock.set(datetime(2027, 3, 2, 9, 0, tzinfo=CPH))
                status, _, again, took = await get(f"lbr-test/wheel.png?token={token}")
                assert status == 200 and again != body
                assert took < 3.0, took  # about 0.25 s here (drawing 0.2 s of it)
                for wrong in (
                    f"lbr-test/wheel.png?token={other}",  # another council's token
                    "lbr-test/wheel.png?token=wrong",
                    "lbr-test/wheel.png",
                    f"lbr-nope/wheel.png?token={token}",
                ):
                    status, kind, body, _ = await get(wrong)
                    assert status == 404 and not kind.startswith("image/"), wrong
                    assert b"PNG" not in body and b"LBR" not in body
                async with ctx.db.transaction() as s:
                    _, rotated = await feed_token(s, ctx, "lbr-test", rotate=True, actor="t")
                assert (await get(f"lbr-test/wheel.png?token={token}"))[0] == 404
                assert (await get(f"lbr-test/wheel.png?token={rotated}"))[0] == 200
        finally:
            await runner.cleanup()


# --- /cycle wheel in Slack -----------------------------------------------------------


async def test_cycle_wheel_uploads_the_picture_through_the_outbox(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await store_years(w.ctx, 2027)
        body, name = w.command_body("UBO00001", "/cycle", "wheel", trigger="77.1.wheel")
        status, _, took = await w.post(body)
        assert status == 200 and took < 3
        reply = (await w.response(name))["text"]
        assert "Årshjulet for LBR Test 2027 kommer om et øjeblik" in reply
        # Slack re-sends the same command: still one row.
        status, _, _ = await w.post(body, retry=1)
        async with w.ctx.db.session() as s:
            rows = (
                await s.execute(
                    select(OutboxMessage).where(col(OutboxMessage.key).startswith("wheel:"))
                )
            ).scalars()
            queued = list(rows)
        assert [(r.channel, r.address, r.state) for r in queued] == [
            ("slack", "UBO00001", "pending")
        ]
        await w.drain()
        [file] = slack.uploads.shared()
        assert file.title == "Årshjul 2027 – LBR Test" and file.filename.endswith(".png")
        assert file.content is not None
        png_of(file.content)
        [post] = slack.calls_to("chat.postMessage")
        assert file.shared == [(post.args["channel"], post.answer["ts"])]
        assert post.args["channel"].startswith("D")  # the asker's DM
        assert "LBR Test" in post.args["text"]

        # Another council's member is refused, and nothing is queued.
        before = await snapshot(w.ctx.db)
        _, _, _, name = await w.command("UOLE0001", "/cycle", "wheel lbr-test", channel="general")
        assert "kun medlemmer og sekretariat i LBR Test" in (await w.response(name))["text"]
        assert await snapshot(w.ctx.db) == before
        # A year and the help.
        _, _, _, name = await w.command("UBO00001", "/cycle", "wheel 2028")
        assert "LBR Test 2028" in (await w.response(name))["text"]
        _, _, _, name = await w.command("UBO00001", "/cycle", "help")
        assert "/cycle wheel" in (await w.response(name))["text"]


# --- the Monday digest ---------------------------------------------------------------

DIGEST_CONFIG = """
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

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Ærø"
region = "rbr-test"
secretariat_email = "lbr@example.dk"
"""

DIGEST_MEMBERS = """council,name,email,organisation,role,slack_id,notify,digest,language
lbr-test,Erik Mail,erik@example.dk,FH,medlem,,email,ja,
rbr-test,Erik Mail,erik@example.dk,FH,medlem,,email,ja,
lbr-test,Bo Uden,bo@example.dk,LO,medlem,,email,nej,
"""


@asynccontextmanager
async def digest_world(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, at: datetime
) -> AsyncIterator[AppContext]:
    (tmp_path / "config.toml").write_text(DIGEST_CONFIG.format(port=smtp.port), encoding="utf-8")
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    async with open_app(config, FixedClock(at)) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=ctx.clock.now(), actor="t")
            report = await import_members(
                s, DIGEST_MEMBERS.encode(), now=ctx.clock.now(), actor="t"
            )
            assert report.rejected == 0
        yield ctx


async def test_the_monday_digest_shows_the_readers_wheels_inline(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    sunday = datetime(2027, 3, 7, 12, 0, tzinfo=CPH)
    async with digest_world(database_url, tmp_path, smtp, sunday) as ctx:
        await store_years(ctx, 2027)
        async with ctx.db.transaction() as s:
            await sync_reminders(s, ctx)
        assert isinstance(ctx.clock, FixedClock)
        ctx.clock.set(datetime(2027, 3, 8, 8, 5, tzinfo=CPH))
        await drain(ctx, worker_id="t")
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        digests = [m for m in mails if "Ugens frister" in str(m["Subject"])]
        assert [m["To"] for m in digests] == ["erik@example.dk"], [m["Subject"] for m in mails]
        mail = digests[0]
        assert isinstance(mail, EmailMessage)
        assert mail.get_content_type() == "multipart/alternative"
        text, related = mail.get_payload()  # type: ignore[misc]
        assert text.get_content_type() == "text/plain"
        assert related.get_content_type() == "multipart/related"
        page, *images = related.get_payload()
        assert page.get_content_type() == "text/html"
        html = page.get_content()
        assert len(images) == 2  # both of Erik's councils
        async with ctx.db.session() as s:
            lbr = await get_council(s, "lbr-test")
        for image in images:
            assert image.get_content_type() == "image/png"
            assert image.get_content_disposition() == "inline"
            cid = image["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in html
            png_of(image.get_content())
        assert f"wheel-{lbr.id}-2027@aarshjul" in html
        assert "Årshjulet for LBR Ærø 2027" in html  # the alt text, in the reader's language
        assert html.index("cid:") < html.index("<hr>")  # after the deadlines, before the footer
