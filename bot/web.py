"""The bot's HTTP server: ``GET /healthz`` and ``GET /metrics``.

One aiohttp application; the Slack HTTP mode mounts ``/slack/events`` on it
and the calendar feed its own route, so one port serves everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.observability import Metrics
from scheduler.clock import Clock
from storage import outbox
from storage.db import Database


@dataclass
class Health:
    """What /healthz reports."""

    database: bool
    scheduler: bool
    backlog: int
    oldest_due_age_seconds: float | None

    @property
    def ok(self) -> bool:
        return self.database and self.scheduler


async def check_health(db: Database, clock: Clock, scheduler_running: bool) -> Health:
    """Ask the database (with a short timeout) and the timer how they are."""
    now = clock.now()
    try:
        async with asyncio.timeout(3):
            async with db.session() as session:
                await session.execute(text("SELECT 1"))
                state = await outbox.status(session, now=now, failed_limit=0)
    except Exception:
        return Health(False, scheduler_running, 0, None)
    age = (now - state.oldest_due).total_seconds() if state.oldest_due else None
    return Health(True, scheduler_running, state.backlog, age)


def build_web_app(
    db: Database,
    clock: Clock,
    metrics: Metrics,
    scheduler_running: Callable[[], bool],
    *,
    slack: tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] | None = None,
    calendars: Callable[[str, str], Awaitable[bytes | None]] | None = None,
    wheels: Callable[[str, str], Awaitable[bytes | None]] | None = None,
    pages: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """The routes; ``slack`` is (path, view) in Slack's HTTP mode; ``calendars``
    gives a council's feed for (council key, token), None when either is wrong;
    ``wheels`` the council's wheel PNG for the same (key, feed token)."""

    async def healthz(_request: web.Request) -> web.Response:
        health = await check_health(db, clock, scheduler_running())
        body = {
            "status": "ok" if health.ok else "unavailable",
            "database": "ok" if health.database else "unreachable",
            "scheduler": "running" if health.scheduler else "stopped",
            "outbox_backlog": health.backlog,
            "oldest_due_age_seconds": (
                round(health.oldest_due_age_seconds, 1)
                if health.oldest_due_age_seconds is not None
                else None
            ),
        }
        return web.json_response(body, status=200 if health.ok else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        now = clock.now()
        try:
            async with asyncio.timeout(3), db.session() as session:
                state = await outbox.status(session, now=now, failed_limit=0)
            metrics.backlog.set(state.backlog)
            metrics.oldest_due_age.set(
                (now - state.oldest_due).total_seconds() if state.oldest_due else 0
            )
            for name, count in state.counts.items():
                metrics.outbox_rows.labels(state=name).set(count)
        except Exception:
            pass  # the counters still say something; /healthz says the database is down
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    if slack is not None:
        path, view = slack
        app.router.add_post(path, view)
    if calendars is not None:

        async def calendar_feed(request: web.Request) -> web.Response:
            body = await calendars(request.match_info["council"], request.query.get("token", ""))
            if body is None:
                # The same answer for an unknown council and a wrong token.
                raise web.HTTPNotFound(text="not found")
            return web.Response(
                body=body,
                headers={
                    "Content-Type": "text/calendar; charset=utf-8",
                    "Cache-Control": "private, max-age=900",
                },
            )

        app.router.add_get("/calendar/{council}.ics", calendar_feed)
    if pages is not None:
        # The web pages (bot/web_pages): the overview, a council's page, signing in.
        pages(app)
    if wheels is not None:

        async def wheel_png(request: web.Request) -> web.Response:
            body = await wheels(request.match_info["council"], request.query.get("token", ""))
            if body is None:
                raise web.HTTPNotFound(text="not found")
            return web.Response(
                body=body,
                headers={"Content-Type": "image/png", "Cache-Control": "private, max-age=900"},
            )

        app.router.add_get("/calendar/{council}/wheel.png", wheel_png)
    return app
