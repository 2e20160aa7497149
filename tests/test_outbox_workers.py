"""Outcomes committed as deliveries finish, and the heartbeat rules of who may take over rows.

Both databases. The channels here are in-process fakes (the real servers are in
``test_delivery.py`` and ``test_crash.py``); time is a FixedClock the test moves.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.config import load_config
from bot.delivery.base import Message
from bot.delivery.recorder import OutcomeRecorder
from bot.delivery.worker import OutboxWorker, default_worker_id, pid_alive
from bot.runner import build_worker
from bot.services.app import AppContext, open_app
from scheduler.clock import FixedClock
from scheduler.planner import notice
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, Person, Worker

# Monday 23 November 2026, 10:00 in Copenhagen: inside working hours.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=30)


class FakeChannel:
    """Answers at once, or holds the sends the test names until it lets them go.

    At every send it notes how many rows were handed to it and are not yet
    recorded in the database: the rows a kill at that moment could repeat.
    """

    def __init__(self, name: str, db: Database, *, hold: set[int] | None = None) -> None:
        self.name = name
        self.db = db
        self.hold = hold or set()
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.sent: list[int] = []
        self.unrecorded: list[int] = []
        self.new_dm_channels: dict[str, str] = {}

    async def send(self, message: Message) -> str:
        self.sent.append(message.row_id)
        handed = list(self.sent)
        async with self.db.session() as session:
            recorded = await session.scalar(
                select(func.count()).where(
                    col(OutboxMessage.id).in_(handed), col(OutboxMessage.state) != "sending"
                )
            )
        self.unrecorded.append(len(handed) - int(recorded or 0))
        if message.row_id in self.hold:
            self.held.set()
            await self.release.wait()
        if self.name == "slack":
            self.new_dm_channels[message.address] = "D" + message.address[1:]
        return f"{self.name}-{message.row_id}"

    async def end_batch(self) -> None:
        return None

    async def close(self) -> None:
        return None


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[AppContext]:
    (tmp_path / "config.toml").write_text("[email]\nbackend = 'file'\n", encoding="utf-8")
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    async with open_app(config, FixedClock(START)) as ctx:
        await ctx.db.upgrade()
        yield ctx


def _clock(ctx: AppContext) -> FixedClock:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    return clock


async def _notices(ctx: AppContext, channel: str, count: int, prefix: str = "n") -> None:
    now = ctx.clock.now()
    planned = [
        notice(
            f"{prefix}:{i}",
            channel=channel,
            address=f"U{i:07d}" if channel == "slack" else f"m{i}@example.dk",
            subject=f"Besked {i}",
            text=f"Besked nummer {i}",
            due_at=now,
        )
        for i in range(count)
    ]
    async with ctx.db.transaction() as session:
        await outbox.enqueue(session, planned, now=now)


async def _states(db: Database) -> dict[int, tuple[str, str | None, str | None]]:
    async with db.session() as session:
        found = await session.execute(
            select(OutboxMessage.id, OutboxMessage.state, OutboxMessage.external_id,
                   OutboxMessage.claimed_by)
        )  # fmt: skip
        return {r[0]: (r[1], r[2], r[3]) for r in found}


async def _worker_rows(db: Database) -> dict[str, Worker]:
    async with db.session() as session:
        return {w.id: w for w in (await session.execute(select(Worker))).scalars()}


# --- the recorder ---------------------------------------------------------------------------


async def test_outcomes_are_committed_while_the_batch_is_still_being_delivered(
    app: AppContext,
) -> None:
    async with app.db.transaction() as session:
        session.add_all(
            Person(
                name=f"M {i}",
                email=f"m{i}@example.dk",
                slack_id=f"U{i:07d}",
                created_at=START,
                updated_at=START,
            )
            for i in range(10)
        )
    await _notices(app, "slack", 10)
    ids = sorted(await _states(app.db))
    slack = FakeChannel("slack", app.db, hold={ids[-1]})
    worker = build_worker(app, {"slack": slack})  # type: ignore[dict-item]
    batch = asyncio.create_task(worker.drain())
    await asyncio.wait_for(slack.held.wait(), 10)

    async def nine_recorded() -> dict[int, tuple[str, str | None, str | None]]:
        while True:
            states = await _states(app.db)
            if sum(s == "sent" for s, _, _ in states.values()) == 9:
                return states
            await asyncio.sleep(0.01)

    # The batch is not done (one send is held), yet the other nine are in the database
    # with their Slack ts, and so are their DM channels.
    states = await asyncio.wait_for(nine_recorded(), 10)
    assert states[ids[-1]][0] == "sending"
    assert {states[i][1] for i in ids[:-1]} == {f"slack-{i}" for i in ids[:-1]}
    async with app.db.session() as session:
        known = await session.scalar(
            select(func.count()).where(col(Person.slack_dm_channel).is_not(None))
        )
    assert known == 9
    slack.release.set()
    report = await batch
    assert report.sent == 10
    assert {s for s, _, _ in (await _states(app.db)).values()} == {"sent"}


async def test_at_most_concurrency_rows_are_sent_but_not_recorded(app: AppContext) -> None:
    await _notices(app, "email", 60)
    email = FakeChannel("email", app.db)
    worker = build_worker(app, {"email": email})  # type: ignore[dict-item]
    worker.settings = replace(worker.settings, concurrency=4, batch_size=60)
    report = await worker.drain()
    assert report.sent == 60
    # What a kill at any send could repeat: this send and those not yet recorded.
    assert max(email.unrecorded) <= 4, email.unrecorded


async def test_the_recorder_writes_group_commits_of_at_most_max_batch(app: AppContext) -> None:
    await _notices(app, "email", 12)
    ids = await _claim_for(app, "w", 100)
    async with OutcomeRecorder(app.db, worker="w", now=app.clock.now, max_batch=5) as recorder:
        waiting = [
            recorder.submit(outbox.Outcome(i, outbox.SENT, external_id=f"<{i}@x>")) for i in ids
        ]
        await asyncio.gather(*waiting)
        assert (recorder.commits, recorder.written) == (3, 12)
    states = await _states(app.db)
    assert {s for s, _, _ in states.values()} == {"sent"}
    assert {e for _, e, _ in states.values()} == {f"<{i}@x>" for i in ids}
    with pytest.raises(RuntimeError):
        recorder.submit(outbox.Outcome(ids[0], outbox.SENT))


async def test_a_commit_waits_for_deliveries_in_progress_but_at_most_linger(
    app: AppContext,
) -> None:
    await _notices(app, "email", 3)
    a, b, c = await _claim_for(app, "w", 3)
    loop = asyncio.get_running_loop()
    async with OutcomeRecorder(app.db, worker="w", now=app.clock.now, linger=30) as recorder:
        for _ in range(3):
            recorder.begin()
        first = asyncio.create_task(recorder.record(outbox.Outcome(a, outbox.SENT)))
        second = asyncio.create_task(recorder.record(outbox.Outcome(b, outbox.SENT)))
        await asyncio.sleep(0)  # both handed in; the third delivery is still going
        assert recorder.commits == 0 and not first.done()
        # The last one hands in: one commit for all three, long before the linger.
        await recorder.record(outbox.Outcome(c, outbox.SENT))
        await asyncio.gather(first, second)
        assert (recorder.commits, recorder.written) == (1, 3)

    await _notices(app, "email", 1, prefix="alone")
    [d] = await _claim_for(app, "w", 1)
    async with OutcomeRecorder(app.db, worker="w", now=app.clock.now, linger=0.05) as recorder:
        recorder.begin()
        recorder.begin()  # never hands in (a send that hangs)
        start = loop.time()
        await asyncio.wait_for(recorder.record(outbox.Outcome(d, outbox.SENT)), 10)
        assert recorder.commits == 1 and loop.time() - start >= 0.05
        recorder.abandon()
    assert {s for s, _, _ in (await _states(app.db)).values()} == {"sent"}


# --- heartbeats and who may take rows over ---------------------------------------------------


def _worker(app: AppContext, worker_id: str | None = None) -> OutboxWorker:
    email = FakeChannel("email", app.db)
    return build_worker(app, {"email": email}, worker_id=worker_id)  # type: ignore[dict-item]


async def _claim_for(app: AppContext, worker: str, count: int) -> list[int]:
    async with app.db.transaction() as session:
        rows = await outbox.claim(
            session, worker=worker, now=app.clock.now(), lease=timedelta(minutes=5), limit=count,
            channels=["email"], quiet_allowed=True,
        )  # fmt: skip
    return [r.id or 0 for r in rows]


async def _beat(app: AppContext, worker: str, *, host: str, pid: int) -> None:
    async with app.db.transaction() as session:
        await outbox.heartbeat(session, worker=worker, host=host, pid=pid, now=app.clock.now())


def _finished_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_worker_silent_past_the_timeout_loses_its_rows_and_its_row(
    app: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    await _notices(app, "email", 3)
    await _beat(app, "elsewhere:7:dead", host="elsewhere", pid=7)
    held = await _claim_for(app, "elsewhere:7:dead", 3)
    heir = _worker(app)
    clock = _clock(app)
    clock.set(START + TIMEOUT)
    assert (await heir.housekeeping()).reclaimed == []  # exactly the timeout: not yet
    assert await heir.next_wakeup() == START + TIMEOUT
    clock.set(START + TIMEOUT + timedelta(seconds=1))
    report = await heir.housekeeping()
    assert sorted(r.id for r in report.reclaimed) == sorted(held)
    assert {r.claimed_by for r in report.reclaimed} == {"elsewhere:7:dead"}
    assert f"reclaimed id={held[0]}" in caplog.text
    assert {s for s, _, _ in (await _states(app.db)).values()} == {"pending"}
    assert await _worker_rows(app.db) == {}


async def test_a_live_slow_worker_keeps_its_rows_long_after_its_lease(app: AppContext) -> None:
    await _notices(app, "email", 3)
    clock = _clock(app)
    await _beat(app, "elsewhere:8:slow", host="elsewhere", pid=8)
    held = await _claim_for(app, "elsewhere:8:slow", 3)
    heir = _worker(app)
    # Twenty minutes on (four leases), the slow worker still beating every few seconds.
    for minute in range(1, 21):
        clock.set(START + timedelta(minutes=minute))
        await _beat(app, "elsewhere:8:slow", host="elsewhere", pid=8)
        clock.set(clock.now() + timedelta(seconds=25))
        assert (await heir.housekeeping()).reclaimed == []
        assert (await heir.run_batch()).claimed == 0
    states = await _states(app.db)
    assert {states[i] for i in held} == {("sending", None, "elsewhere:8:slow")}
    # The timer wakes when the heartbeat would run out, not for the expired lease.
    assert await heir.next_wakeup() == START + timedelta(minutes=20) + TIMEOUT


async def test_a_gone_process_on_this_host_loses_its_rows_at_once(app: AppContext) -> None:
    await _notices(app, "email", 4)
    heir = _worker(app)
    dead_pid = _finished_pid()
    assert not pid_alive(dead_pid)
    await _beat(app, f"{heir.host}:{dead_pid}:aaaa", host=heir.host, pid=dead_pid)
    by_pid = await _claim_for(app, f"{heir.host}:{dead_pid}:aaaa", 1)
    # A container restarted with pid 1 again: same host and pid as ours, another id.
    await _beat(app, f"{heir.host}:{heir.pid}:bbbb", host=heir.host, pid=heir.pid)
    by_reuse = await _claim_for(app, f"{heir.host}:{heir.pid}:bbbb", 1)
    # A live process on this host (our parent) keeps its rows.
    await _beat(app, f"{heir.host}:{os.getppid()}:cccc", host=heir.host, pid=os.getppid())
    alive = await _claim_for(app, f"{heir.host}:{os.getppid()}:cccc", 1)
    # The same pid on another host says nothing about that host's process.
    await _beat(app, f"other:{dead_pid}:dddd", host="other", pid=dead_pid)
    other = await _claim_for(app, f"other:{dead_pid}:dddd", 1)

    report = await heir.housekeeping()  # no time has passed: fresh heartbeats all round
    assert sorted(r.id for r in report.reclaimed) == sorted(by_pid + by_reuse)
    states = await _states(app.db)
    assert states[alive[0]][0] == states[other[0]][0] == "sending"
    assert set(await _worker_rows(app.db)) == {
        f"{heir.host}:{os.getppid()}:cccc",
        f"other:{dead_pid}:dddd",
    }


async def test_rows_of_a_worker_without_heartbeat_wait_for_their_lease(app: AppContext) -> None:
    await _notices(app, "email", 2)
    held = await _claim_for(app, "old-version", 2)
    heir = _worker(app)
    clock = _clock(app)
    clock.set(START + timedelta(minutes=4))
    assert (await heir.housekeeping()).reclaimed == []
    assert await heir.next_wakeup() == START + timedelta(minutes=5)
    clock.set(START + timedelta(minutes=5, seconds=1))
    assert sorted(r.id for r in (await heir.housekeeping()).reclaimed) == sorted(held)


async def test_start_beats_and_a_clean_stop_removes_the_workers_row(app: AppContext) -> None:
    worker = _worker(app)
    host, pid, tag = worker.worker_id.rsplit(":", 2)
    assert (host, int(pid)) == (worker.host[:64], os.getpid()) and len(tag) == 8
    assert default_worker_id() != default_worker_id()
    await worker.start()
    try:
        [row] = (await _worker_rows(app.db)).values()
        assert (row.id, row.host, row.pid, row.started, row.last_seen) == (
            worker.worker_id, worker.host, os.getpid(), START, START
        )  # fmt: skip
        _clock(app).set(START + timedelta(seconds=5))
        await worker.beat()
        [row] = (await _worker_rows(app.db)).values()
        assert (row.started, row.last_seen) == (START, START + timedelta(seconds=5))
    finally:
        await worker.stop()
    assert await _worker_rows(app.db) == {}


async def test_status_lists_the_workers_and_the_rows_they_hold(app: AppContext) -> None:
    await _notices(app, "email", 3)
    await _beat(app, "h:1:a", host="h", pid=1)
    await _claim_for(app, "h:1:a", 2)
    _clock(app).set(START + timedelta(seconds=10))
    await _beat(app, "h:2:b", host="h", pid=2)
    async with app.db.session() as session:
        st = await outbox.status(session, now=app.clock.now())
    assert [(w.id, w.last_seen, w.held) for w in st.workers] == [
        ("h:2:b", START + timedelta(seconds=10), 0),
        ("h:1:a", START, 2),
    ]


async def test_a_commit_that_fails_is_tried_again_and_then_the_rows_are_taken_back(
    app: AppContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _notices(app, "email", 3)
    real = outbox.record
    failures = {"left": 1}

    async def flaky(*args: object, **kwargs: object) -> int:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError("database went away")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "record", flaky)
    worker = _worker(app)
    # One failed commit: tried again, nothing lost.
    assert (await worker.drain()).sent == 3
    assert {s for s, _, _ in (await _states(app.db)).values()} == {"sent"}

    # A database down for longer: the batch fails with the rows still ``sending`` under
    # this (live) worker; its next run takes them back, naming them, and sends them.
    await _notices(app, "email", 2, prefix="later")
    failures["left"] = 100
    with pytest.raises(OSError):
        await worker.drain()
    stuck = [i for i, (s, _, w) in (await _states(app.db)).items() if s == "sending"]
    assert len(stuck) == 2
    failures["left"] = 0
    report = await worker.drain()
    assert sorted(r.id for r in report.reclaimed) == sorted(stuck) and report.sent == 2
    assert f"reclaimed id={stuck[0]}" in caplog.text


async def test_the_recorders_asynchronous_commit_never_reaches_another_transaction(
    database_url: str,
) -> None:
    """The recorder commits without waiting for the disk on its own connection only: the
    pool's connections, which answers and closes get next, still wait for it."""
    database = Database(database_url, pool_size=1)  # one pooled connection, one overflow
    await database.upgrade()
    sql = "PRAGMA synchronous" if database.is_sqlite else "SHOW synchronous_commit"
    try:
        async with database.engine.connect() as conn:
            durable = (await conn.exec_driver_sql(sql)).scalar()
        recorder = OutcomeRecorder(database, worker="w", now=lambda: datetime.now(UTC))
        async with recorder:
            # No such row: the commit updates nothing, but it runs on the recorder's
            # connection with its asynchronous setting.
            await recorder.submit(outbox.Outcome(10**9, outbox.SENT))
        assert recorder.commits == 1
        async with database.engine.connect() as a, database.engine.connect() as b:
            seen = [(await c.exec_driver_sql(sql)).scalar() for c in (a, b)]
        assert seen == [durable, durable]
        assert durable not in ("off", 1)  # the pool's own setting is the durable one
    finally:
        await database.dispose()
