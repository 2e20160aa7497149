"""``aarshjul run``: assembles the worker, the timer and the HTTP server, and runs them.

Everything with a lifetime is entered on one :class:`AsyncExitStack`, so a failed
start-up (database down, port taken) closes what was already open, and a
SIGTERM stops the timer, lets the batch in hand finish and closes the channels.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from contextlib import AsyncExitStack, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy import func, select
from sqlmodel import col

from bot.delivery.base import Channel, PermanentDeliveryError, TemporaryDeliveryError
from bot.delivery.email import FileChannel, SmtpChannel
from bot.delivery.render import Renderer
from bot.delivery.slack import SlackChannel
from bot.delivery.worker import OutboxWorker, RunReport, WorkerSettings
from bot.i18n import user_error
from bot.observability import Metrics, log_event
from bot.services.app import AppContext
from bot.services.feeds import feed
from bot.services.hearing_lifecycle import close_due_hearings
from bot.services.reminders import after_sent, conditions, send_window
from bot.services.setup import refresh
from bot.services.wheel.message import WheelSource
from bot.services.wheel.year import wheel_png
from bot.slack_app import build_slack_app, http_route, match_people_by_email
from bot.start_report import start_lines
from bot.web import build_web_app
from bot.web_pages.pages import add_pages
from scheduler.errors import ConfigError
from scheduler.timer import Timer
from storage import outbox
from storage.models import OutboxMessage, Person

if TYPE_CHECKING:
    from bot.services.inbound.imap import ImapReader

log = logging.getLogger("aarshjul.run")


async def build_channels(ctx: AppContext) -> dict[str, Channel]:
    """E-mail always (SMTP, or .eml files without a host); Slack with a bot token."""
    settings = ctx.config.settings
    secrets = ctx.config.secrets
    channels: dict[str, Channel] = {}
    email = settings.email
    if email.backend == "smtp" and email.host:
        channels["email"] = SmtpChannel(
            email,
            username=secrets.smtp_username,
            password=secrets.smtp_password.get_secret_value() if secrets.smtp_password else None,
            now=ctx.clock.now,
            tz=ctx.tz,
            connections=settings.outbox.smtp_connections,
        )
    else:
        channels["email"] = FileChannel(
            Path(email.folder),
            sender=email.sender,
            reply_to=email.reply_to,
            now=ctx.clock.now,
            tz=ctx.tz,
        )
    if secrets.slack_bot_token is not None:
        async with ctx.db.session() as session:
            known = await session.execute(
                select(Person.slack_id, Person.slack_dm_channel).where(
                    col(Person.slack_dm_channel).is_not(None)
                )
            )
            dm_channels = {u: d for u, d in known if u and d}
        channels["slack"] = SlackChannel(
            secrets.slack_bot_token.get_secret_value(),
            settings.slack.api_url,
            dm_channels=dm_channels,
        )
    return channels


def build_worker(
    ctx: AppContext,
    channels: dict[str, Channel],
    metrics: Metrics | None = None,
    worker_id: str | None = None,
) -> OutboxWorker:
    o = ctx.config.settings.outbox
    return OutboxWorker(
        ctx.db,
        channels,
        ctx.clock,
        Renderer(
            ctx.tz,
            ctx.calendar,
            tzid=ctx.config.settings.general.timezone,
            sender=ctx.config.settings.email.sender,
            now=ctx.clock.now,
            # No Slack channel (no token): e-mails say how to answer by e-mail.
            slack="slack" in channels,
            wheels=WheelSource(
                ctx.template, ctx.calendar, ctx.config.settings.reminders.min_hearing_days
            ),
            reply_address=ctx.config.settings.inbound.reply_address,
        ),
        send_window(ctx),
        worker_id=worker_id,
        settings=WorkerSettings(
            batch_size=o.batch_size,
            lease=timedelta(seconds=o.lease_seconds),
            max_attempts=o.max_attempts,
            backoff_base=timedelta(seconds=o.retry_base_seconds),
            concurrency=o.concurrency,
            heartbeat=timedelta(seconds=o.heartbeat_seconds),
            worker_timeout=timedelta(seconds=o.worker_timeout_seconds),
        ),
        metrics=metrics,
        conditions=conditions(),
        after_sent=after_sent(),
    )


async def _close_channels(channels: dict[str, Channel]) -> None:
    for channel in channels.values():
        try:
            await channel.close()
        except Exception:
            log.exception("closing channel %s", channel.name)


async def _check_slack(channels: dict[str, Channel]) -> str | None:
    """A refused token stops start-up; an unreachable Slack only warns (rows wait).

    Returns the bot's own user id, when Slack said it.
    """
    slack = channels.get("slack")
    if not isinstance(slack, SlackChannel):
        return None
    try:
        bot_user = await slack.check()
    except PermanentDeliveryError as exc:
        raise user_error(ConfigError, "run.slack_refused", why=str(exc)) from None
    except TemporaryDeliveryError as exc:
        log_event(log, "slack-unreachable", logging.WARNING, error=str(exc))
        return None
    log_event(log, "slack-ok", bot_user=bot_user)
    return bot_user or None


async def _refresh(ctx: AppContext, event: str) -> None:
    report = await refresh(ctx, actor="aarshjul run")
    planned = report.reminders
    log_event(
        log,
        event,
        events_created=report.created,
        reminders=planned.planned if planned else 0,
        inserted=planned.report.inserted if planned else 0,
        moved=planned.report.updated if planned else 0,
        withdrawn=planned.report.withdrawn if planned else 0,
    )


async def daily_jobs(ctx: AppContext) -> None:
    """What ``aarshjul run`` does once a day: plan the cycle's reminders, then check the
    results for deviations (an import without a check, a threshold changed)."""
    await _refresh(ctx, "daily-plan")
    try:
        from bot.services.results.alerts import daily_check

        await daily_check(ctx)
    except Exception:
        log.exception("checking the results for deviations")


async def drain(ctx: AppContext, *, worker_id: str | None = None) -> RunReport:
    """Deliver everything due now, taking over rows of dead workers (at once when their
    process is gone from this host, else once their heartbeat is too old), and return
    when nothing is due or in flight."""
    channels = await build_channels(ctx)
    worker = build_worker(ctx, channels, worker_id=worker_id)
    total = RunReport()
    try:
        await worker.start()
        while True:
            total.add(await worker.drain())
            now = ctx.clock.now()
            async with ctx.db.session() as session:
                in_flight = await session.scalar(
                    select(func.count()).where(col(OutboxMessage.state) == outbox.SENDING)
                )
            upcoming = await worker.next_wakeup()
            if not in_flight and (upcoming is None or upcoming > now):
                return total
            wait = (upcoming - now).total_seconds() if upcoming else 0.5
            await asyncio.sleep(min(max(wait, 0.05), 1.0))
    finally:
        await worker.stop()
        await _close_channels(channels)


MODES = ("auto", "http", "socket", "off")


def slack_mode(ctx: AppContext, mode: str) -> str:
    """How Slack reaches the bot: ``socket``, ``http`` or ``off`` (e-mail only).

    ``auto`` picks Socket Mode with ``SLACK_APP_TOKEN``, HTTP with
    ``SLACK_SIGNING_SECRET``, else off; asking for a mode whose secrets are
    missing stops start-up naming them.
    """
    secrets = ctx.config.secrets
    if mode not in MODES:
        raise user_error(ConfigError, "run.bad_mode", value=mode, known=", ".join(MODES))
    if mode == "auto":
        if secrets.slack_bot_token and secrets.slack_app_token:
            return "socket"
        if secrets.slack_bot_token and secrets.slack_signing_secret:
            return "http"
        return "off"
    needs = {
        "http": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
        "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
    }.get(mode, ())
    missing = [n for n in needs if getattr(secrets, n.lower()) is None]
    if missing:
        raise user_error(ConfigError, "run.slack_mode_needs", mode=mode, missing=", ".join(missing))
    return mode


def inbound_reader(ctx: AppContext) -> ImapReader | None:
    """The IMAP reader when ``[inbound] backend = "imap"`` (a ConfigError without
    IMAP_USERNAME/IMAP_PASSWORD), else None."""
    if ctx.config.settings.inbound.backend != "imap":
        return None
    from bot.services.inbound.imap import ImapReader

    return ImapReader(ctx)


async def serve(
    ctx: AppContext,
    *,
    host: str,
    port: int,
    mode: str = "auto",
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``): timer, worker, HTTP server and Slack.

    Start-up migrates the database and loads config.toml (as ``aarshjul init``),
    so a fresh clone or volume runs.
    """
    stop = stop or asyncio.Event()
    metrics = Metrics()
    transport = slack_mode(ctx, mode)
    # The mailbox's credentials are checked before anything starts.
    reader = inbound_reader(ctx)
    async with AsyncExitStack() as stack:
        await _refresh(ctx, "started-plan")
        channels = await build_channels(ctx)
        stack.push_async_callback(_close_channels, channels)
        bot_user = await _check_slack(channels)
        worker = build_worker(ctx, channels, metrics)
        # The heartbeat goes first: rows this worker claims are its own while it beats.
        await worker.start()
        stack.push_async_callback(worker.stop)

        async def wake() -> datetime | None:
            try:
                await close_due_hearings(ctx)
            except Exception:
                log.exception("closing hearings past their deadline")
            await worker.drain()
            return await worker.next_wakeup()

        async def daily() -> None:
            await daily_jobs(ctx)

        o = ctx.config.settings.outbox
        timer = Timer(
            wake=wake,
            daily=daily,
            tz=ctx.tz,
            now=ctx.clock.now,
            sweep_seconds=o.sweep_seconds,
            daily_at=o.daily_at,
        )
        slack_app = deps = None
        route = None
        if transport != "off":
            slack_app, deps = build_slack_app(ctx, bot_user_id=bot_user, wake=timer.poke)
            if transport == "http":
                route = (ctx.config.settings.slack.path, http_route(slack_app))
        app = build_web_app(
            ctx.db,
            ctx.clock,
            metrics,
            lambda: timer.running,
            slack=route,
            calendars=functools.partial(feed, ctx),
            wheels=functools.partial(wheel_png, ctx),
            pages=functools.partial(add_pages, ctx),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise user_error(
                ConfigError, "run.cannot_listen", host=host, port=port, why=exc.strerror or exc
            ) from None
        # The port is ours: only now start delivering.
        timer.start()
        stack.callback(timer.shutdown)
        if reader is not None:
            reader.start()
            stack.push_async_callback(reader.stop)
        if transport == "socket" and slack_app is not None:
            token = ctx.config.secrets.slack_app_token
            assert token is not None
            socket = AsyncSocketModeHandler(slack_app, token.get_secret_value())
            await socket.connect_async()
            stack.push_async_callback(socket.close_async)
        if deps is not None:
            deps.background(match_people_by_email(deps))
        bound = [a for a in runner.addresses if isinstance(a, tuple)]
        address = f"{host}:{bound[0][1] if bound else port}"
        log_event(
            log,
            "started",
            http=address,
            channels=",".join(sorted(channels)),
            slack=transport,
            worker=worker.worker_id,
        )
        for line in start_lines(
            ctx.config, transport=transport, mode=mode, http=f"http://{address}"
        ):
            log.info("%s", line)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if started is not None:
            started.set()
        await stop.wait()
        log_event(log, "stopping")
        timer.shutdown()
        await timer.wait_idle()
        await worker.wait_idle()
