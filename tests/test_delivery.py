"""The worker against real servers on loopback: Slack's rate limits and errors, a flaky SMTP server.

slack_sdk and aiosmtplib are not mocked: they talk to the stand-ins in
``tests/servers.py`` over TCP. Time is a FixedClock moved by the test; only
Slack's own short Retry-After is waited out in real time, since honouring it is
what the test checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.delivery.slack import SlackChannel
from bot.runner import build_channels, build_worker
from bot.services.app import AppContext, open_app
from bot.services.councils import sync_councils
from bot.services.reminders import plan_failure_reports
from scheduler.clock import FixedClock
from scheduler.planner import notice
from storage import outbox
from storage.models import Council, OutboxMessage
from tests.servers import SlackStandIn, SmtpStandIn

# Monday 23 November 2026, 10:00 in Copenhagen.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

CONFIG = """
[email]
backend = "smtp"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "aarshjul@example.dk"

[outbox]
retry_base_seconds = 30

[[councils]]
key = "rbr-syddanmark"
kind = "RBR"
name = "RBR Syddanmark"
secretariat_email = "rbr-syd@example.dk"

[[councils]]
key = "lbr-odense"
kind = "LBR"
name = "LBR Odense"
region = "rbr-syddanmark"
slack_channel = "lbr-odense"
secretariat_email = "jobcenter@odense.example.dk"
"""


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path, slack: SlackStandIn, smtp: SmtpStandIn
) -> AsyncIterator[AppContext]:
    (tmp_path / "config.toml").write_text(CONFIG.format(port=smtp.port), encoding="utf-8")
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
    }
    config = load_config(environ=environ, cwd=tmp_path)
    async with open_app(config, FixedClock(START)) as ctx:
        # Councils only: the rows in the outbox are the ones each test adds.
        await ctx.db.upgrade()
        async with ctx.db.transaction() as session:
            await sync_councils(session, config.settings.councils, now=START, actor="test")
        yield ctx


async def _notices(ctx: AppContext, channel: str, addresses: list[str], **extra: Any) -> None:
    now = ctx.clock.now()
    planned = [
        notice(
            f"test:{i}",
            channel=channel,
            address=address,
            subject=f"Besked {i}",
            text=f"Hej nummer {i}",
            due_at=now,
            council_id=extra.get("council_id"),
        )
        for i, address in enumerate(addresses)
    ]
    async with ctx.db.transaction() as session:
        await outbox.enqueue(session, planned, now=now)


async def _rows(ctx: AppContext, prefix: str = "test:") -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.source.startswith(prefix))  # type: ignore[attr-defined]
            .order_by(OutboxMessage.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())


async def _drain_until_done(ctx: AppContext, channels: dict[str, Any], rounds: int = 20) -> int:
    """Drain; move the clock past the next retry; repeat until nothing is pending."""
    worker = build_worker(ctx, channels)
    clock: FixedClock = ctx.clock  # type: ignore[assignment]
    for n in range(rounds):
        await worker.drain()
        upcoming = await worker.next_wakeup()
        if upcoming is None:
            return n + 1
        clock.set(max(upcoming, clock.now()) + timedelta(seconds=1))
    raise AssertionError("the outbox did not drain")


async def test_slack_429_is_waited_out_for_the_servers_retry_after(
    app: AppContext, slack: SlackStandIn
) -> None:
    users = ["U0000001", "U0000002", "U0000003"]
    await _notices(app, "slack", users)
    slack.fail_next("chat.postMessage", status=429, count=2, retry_after=1)
    channels = await build_channels(app)
    worker = build_worker(app, channels)
    # One at a time, so "the next call" is well defined (concurrent calls already
    # in flight when a 429 arrives are covered by the test at the end).
    worker.settings = replace(worker.settings, concurrency=1)
    try:
        report = await worker.drain()
    finally:
        await channels["slack"].close()
    assert report.sent == 3
    calls = slack.calls_to("chat.postMessage")
    limited = [i for i, c in enumerate(calls) if c.status == 429]
    assert limited == [0, 1]
    for i in limited:
        # The next call waits for the server's Retry-After (1 s).
        assert calls[i + 1].at - calls[i].at >= 0.95
    posted = Counter(c.args["channel"] for c in slack.posted())
    assert posted == {"D0000001": 1, "D0000002": 1, "D0000003": 1}
    rows = await _rows(app)
    assert [r.state for r in rows] == ["sent"] * 3
    assert all(r.external_id and r.external_id.startswith("1700000000.") for r in rows)


async def test_a_long_retry_after_goes_back_to_the_outbox_with_that_delay(
    app: AppContext, slack: SlackStandIn
) -> None:
    await _notices(app, "slack", ["#lbr-odense"])
    slack.fail_next("chat.postMessage", status=429, count=1, retry_after=120)
    # The channel's own pause after a 429 runs on the test's clock too.
    channel = SlackChannel(
        "xoxb-test",
        slack.base_url,
        max_inline_wait=5,
        monotonic=lambda: app.clock.now().timestamp(),
    )
    try:
        worker = build_worker(app, {"slack": channel})
        first = await worker.drain()
        [row] = await _rows(app)
        assert first.retried == 1 and row.state == "pending"
        assert row.due_at == START + timedelta(seconds=120)
        assert "Retry-After 120" in (row.last_error or "")
        app.clock.set(START + timedelta(seconds=119))  # type: ignore[attr-defined]
        assert (await worker.drain()).sent == 0, "not before the server said"
        app.clock.set(START + timedelta(seconds=120))  # type: ignore[attr-defined]
        assert (await worker.drain()).sent == 1
    finally:
        await channel.close()
    assert len(slack.posted()) == 1


async def test_slack_500s_are_retried_and_permanent_errors_fail_the_row(
    app: AppContext, slack: SlackStandIn
) -> None:
    await _notices(app, "slack", ["#lbr-odense", "#gone", "U0000009", "U0BADUSER"])
    slack.fail_next("chat.postMessage", status=500, count=2)
    slack.error_for_channel("#gone", "channel_not_found")
    slack.error_for_user("U0BADUSER", "user_not_found")
    channels = await build_channels(app)
    try:
        await _drain_until_done(app, channels)
    finally:
        await channels["slack"].close()
    rows = {r.address: r for r in await _rows(app)}
    assert rows["#lbr-odense"].state == "sent" and rows["U0000009"].state == "sent"
    assert rows["#gone"].state == "failed" and "channel_not_found" in rows["#gone"].last_error
    assert rows["U0BADUSER"].state == "failed"
    assert "user_not_found" in (rows["U0BADUSER"].last_error or "")
    assert rows["#gone"].attempts == 1, "a permanent error is not retried"
    posted = Counter(c.args["channel"] for c in slack.posted())
    assert posted == {"#lbr-odense": 1, "D0000009": 1}


async def test_smtp_451_and_a_dropped_connection_lose_nothing_and_repeat_nothing(
    app: AppContext, smtp: SmtpStandIn
) -> None:
    addresses = [f"member{i}@example.dk" for i in range(12)]
    await _notices(app, "email", addresses)
    smtp.tempfail = 3
    smtp.drop_after = 5
    channels = await build_channels(app)
    rounds = await _drain_until_done(app, channels)
    assert smtp.tempfailed == 3 and smtp.dropped == 1
    assert rounds > 1, "the 451s were retried later, not given up"
    rows = await _rows(app)
    assert {r.state for r in rows} == {"sent"}
    received = Counter(smtp.message_ids())
    assert set(received) == {r.external_id for r in rows}
    assert max(received.values()) == 1
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(addresses)


async def test_a_550_fails_that_recipient_only_and_is_reported_to_the_secretariat(
    app: AppContext, smtp: SmtpStandIn
) -> None:
    async with app.db.session() as session:
        odense = (
            await session.execute(select(Council).where(Council.key == "lbr-odense"))
        ).scalar_one()
        council_id = odense.id
    await _notices(
        app,
        "email",
        ["ok1@example.dk", "nobody@example.dk", "ok2@example.dk"],
        council_id=council_id,
    )
    smtp.reject_recipient("nobody@example.dk")
    channels = await build_channels(app)
    await _drain_until_done(app, channels)
    rows = {r.address: r for r in await _rows(app)}
    assert rows["nobody@example.dk"].state == "failed"
    assert "550" in (rows["nobody@example.dk"].last_error or "")
    assert rows["ok1@example.dk"].state == rows["ok2@example.dk"].state == "sent"
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["ok1@example.dk", "ok2@example.dk"]

    async with app.db.transaction() as session:
        assert await plan_failure_reports(session, app) == 1
    async with app.db.transaction() as session:
        assert await plan_failure_reports(session, app) == 0, "once a day"
    await _drain_until_done(app, channels)
    [report] = [m for m in smtp.messages if m.rcpt_tos == ["jobcenter@odense.example.dk"]]
    mail = message_from_bytes(report.data, policy=policy.default)
    assert mail["Subject"] == "Beskeder der ikke kunne leveres – LBR Odense"
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"#{rows['nobody@example.dk'].id}" in body and "nobody@example.dk" in body


async def test_everything_at_once_arrives_exactly_once(
    app: AppContext, slack: SlackStandIn, smtp: SmtpStandIn
) -> None:
    users = [f"U{n:07d}" for n in range(1, 21)]
    emails = [f"m{n}@example.dk" for n in range(20)]
    await _notices(app, "slack", users)
    await _notices(app, "email", emails)
    slack.fail_next("conversations.open", status=429, count=1, retry_after=1)
    slack.fail_next("chat.postMessage", status=500, count=3)
    smtp.tempfail = 2
    smtp.drop_after = 7
    channels = await build_channels(app)
    try:
        await _drain_until_done(app, channels)
    finally:
        await channels["slack"].close()
    assert {r.state for r in await _rows(app)} == {"sent"}
    assert Counter(c.args["channel"] for c in slack.posted()) == {"D" + u[1:]: 1 for u in users}
    received = Counter(smtp.message_ids())
    assert len(received) == 20 and max(received.values()) == 1


async def test_a_refused_slack_token_stops_start_up_with_a_clear_message(
    slack: SlackStandIn,
) -> None:
    from bot.delivery.base import PermanentDeliveryError
    from bot.runner import _check_slack
    from scheduler.errors import ConfigError

    good = SlackChannel("xoxb-test", slack.base_url)
    bad = SlackChannel("xoxp-not-a-bot-token", slack.base_url)
    try:
        assert await good.check() == "UBOT"
        with pytest.raises(PermanentDeliveryError, match="not_authed"):
            await bad.check()
        with pytest.raises(ConfigError, match="Slack refuses SLACK_BOT_TOKEN"):
            await _check_slack({"slack": bad})
    finally:
        await good.close()
        await bad.close()
