"""The timer's jobs, /healthz and /metrics, and e-mail header safety."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.delivery.base import Message, PermanentDeliveryError
from bot.delivery.email import build_email, message_id
from bot.observability import Metrics
from bot.slack_text import escape
from bot.web import build_web_app
from scheduler.clock import FixedClock
from scheduler.timer import DAILY, SWEEP, WAKE, Timer
from storage.db import Database

CPH = ZoneInfo("Europe/Copenhagen")


async def test_timer_schedules_sweep_daily_plan_and_a_wake_up_at_the_next_due_time() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    woken: list[datetime] = []

    async def wake() -> datetime | None:
        woken.append(clock.now())
        return None

    async def daily() -> None:
        return None

    timer = Timer(wake=wake, daily=daily, tz=CPH, now=clock.now, daily_at=time(6, 0))
    timer.start()
    try:
        jobs = timer.jobs()
        assert set(jobs) == {WAKE, SWEEP, DAILY}
        daily_at = jobs[DAILY]
        assert daily_at is not None and daily_at.astimezone(CPH).time() == time(6, 0)
        later = clock.now() + timedelta(hours=3)
        timer.poke(later)
        assert timer.jobs()[WAKE] == later, "one wake-up job, moved, not added"
        assert len(timer.jobs()) == 3
        timer.poke(clock.now() - timedelta(hours=1))
        assert timer.next_wake == clock.now(), "a past due time wakes at once"
        assert timer.running
    finally:
        timer.shutdown()


async def test_a_poke_during_a_wake_up_makes_it_look_again() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    calls = 0
    release = asyncio.Event()
    timer: Timer

    async def wake() -> datetime | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            timer.poke()  # a plan changed while the worker was busy
            release.set()
        return None

    async def daily() -> None:
        return None

    timer = Timer(wake=wake, daily=daily, tz=CPH, now=clock.now)
    await timer._run_wake()
    assert release.is_set() and calls == 2


async def test_a_shutdown_twice_during_a_wake_up_lets_it_finish_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The runner stops the timer after the signal and again from its exit stack;
    APScheduler defers the real shutdown and cancels running jobs."""
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))

    async def wake() -> datetime | None:
        entered.set()
        await release.wait()
        finished.append(True)
        return None

    async def daily() -> None:
        return None

    timer = Timer(wake=wake, daily=daily, tz=CPH, now=clock.now)
    timer.start()
    await asyncio.wait_for(entered.wait(), 30)
    timer.shutdown()
    timer.shutdown()
    idle = asyncio.create_task(timer.wait_idle())
    release.set()
    await asyncio.wait_for(idle, 30)
    assert finished == [True], "the wake-up in progress ran to its end"
    assert not timer.running
    assert loop_errors == []
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []


def _message(subject: str, address: str = "anna@example.dk") -> Message:
    return Message(row_id=7, key="cycle:1/d7/email/person:1", address=address,
                   subject=subject, text="Hej", html="<p>Hej</p>")  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "address"),
    [
        ("Høring\r\nBcc: everyone@example.dk", "anna@example.dk"),
        ("Høring", "anna@example.dk\nBcc: everyone@example.dk"),
        ("Høring\nX-Injected: yes", "anna@example.dk"),
    ],
)
def test_a_line_break_in_a_title_or_address_cannot_add_a_header(subject: str, address: str) -> None:
    with pytest.raises(PermanentDeliveryError, match="line break"):
        build_email(
            _message(subject, address),
            sender="aarshjul@example.dk",
            reply_to="",
            now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
            tz=CPH,
        )


def test_the_message_id_is_the_same_for_every_attempt_of_a_row() -> None:
    first = message_id(_message("a"), "aarshjul@example.dk")
    assert first == message_id(_message("b"), "aarshjul@example.dk")
    assert first.startswith("<aarshjul.7.") and first.endswith("@example.dk>")
    mail = build_email(
        _message("Påmindelse: Høring – fredag"),
        sender="aarshjul@example.dk",
        reply_to="sekretariat@example.dk",
        now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        tz=CPH,
    )
    assert mail["Message-ID"] == first
    assert mail["Date"] == "Mon, 23 Nov 2026 10:00:00 +0100"
    assert mail.get_content_type() == "multipart/alternative"


async def test_healthz_and_metrics_report_the_outbox(db: Database) -> None:
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    metrics = Metrics()
    metrics.deliveries.labels(channel="email", result="sent").inc(3)
    app = build_web_app(db, clock, metrics, lambda: True)
    async with TestClient(TestServer(app)) as client:
        health = await client.get("/healthz")
        assert health.status == 200
        body = await health.json()
        assert body == {
            "status": "ok",
            "database": "ok",
            "scheduler": "running",
            "outbox_backlog": 0,
            "oldest_due_age_seconds": None,
        }
        text = await (await client.get("/metrics")).text()
        assert 'aarshjul_deliveries_total{channel="email",result="sent"} 3.0' in text
        assert 'aarshjul_outbox_rows{state="pending"} 0.0' in text


async def test_healthz_says_503_when_the_database_or_the_scheduler_is_down(
    tmp_path: object,
) -> None:
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    gone = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        app = build_web_app(gone, clock, Metrics(), lambda: False)
        async with TestClient(TestServer(app)) as client:
            health = await client.get("/healthz")
            assert health.status == 503
            body = await health.json()
            assert body["database"] == "unreachable" and body["scheduler"] == "stopped"
    finally:
        await gone.dispose()


async def test_slack_posts_to_one_channel_at_most_once_a_second() -> None:
    from bot.delivery.slack import SlackChannel
    from tests.servers import SlackStandIn

    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    async with SlackStandIn() as slack:
        channel = SlackChannel("xoxb-test", slack.base_url, sleep=sleep, monotonic=lambda: now[0])
        try:
            for text in ("første", "anden"):
                await channel.send(Message(1, "k", "#lbr-odense", "s", escape(text)))
            await channel.send(Message(2, "k2", "#lbr-gribskov", "s", escape("andet råd")))
        finally:
            await channel.close()
    # The second post to #lbr-odense waited a full second; another channel did not.
    assert waits == [1.0]
    assert [c.args["channel"] for c in slack.posted()] == [
        "#lbr-odense",
        "#lbr-odense",
        "#lbr-gribskov",
    ]


def test_json_logs_carry_the_delivery_fields() -> None:
    import json
    import logging

    from bot.observability import JsonFormatter, log_event

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("aarshjul.test-json")
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    log_event(logger, "delivery", id=7, key="cycle:1/d7/email/person:1", channel="email",
              attempt=2, result="sent")  # fmt: skip
    [record] = records
    assert record.getMessage() == (
        "delivery id=7 key=cycle:1/d7/email/person:1 channel=email attempt=2 result=sent"
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["event"] == "delivery" and data["attempt"] == 2 and data["result"] == "sent"
    assert data["key"] == "cycle:1/d7/email/person:1"


async def test_the_slack_stand_in_refuses_a_call_without_its_required_arguments() -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.servers import SlackStandIn

    async with SlackStandIn() as slack:
        if not slack.required:
            pytest.skip("Slack's method list (slack-web-api-methods.json) is not on this machine")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        with pytest.raises(SlackApiError) as refused:
            await client.api_call("users.lookupByEmail", json={})
        assert refused.value.response["error"] == "invalid_arguments"
        found = await client.api_call("conversations.open", json={"users": "U0000001"})
        assert found["channel"]["id"] == "D0000001"
