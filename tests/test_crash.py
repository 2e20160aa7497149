"""Real processes against real servers: workers killed mid-batch, slow, and two at once.

The worker is ``aarshjul run`` (or ``run --drain``) as a subprocess; the SMTP server
is aiosmtpd on loopback in a thread of the test, counting every Message-ID it
receives, and the fan-out tests add the Slack Web API stand-in of
``tests/servers.py`` in a thread of its own. The figures each test measures are
printed (``pytest -s`` shows them, and so does a CI log).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from scheduler.planner import notice
from storage import outbox
from storage.db import Database
from storage.models import Person
from tests.servers import StandInsThread

pytestmark = pytest.mark.slow

ROWS = 5000
BATCH = 100


class Sink:
    """An aiosmtpd handler that keeps every Message-ID it accepts, thread-safely."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mid = message_from_bytes(envelope.content)["Message-ID"]
        with self._lock:
            self.ids.append(mid)
        return "250 OK"

    def count(self) -> int:
        with self._lock:
            return len(self.ids)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Any:
    sink = Sink()
    # aiosmtpd's Controller cannot bind port 0: take a free one first.
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


def _script() -> str:
    found = Path(sys.executable).parent / "aarshjul"
    return str(found) if found.exists() else (shutil.which("aarshjul") or "aarshjul")


def _environment(tmp_path: Path, database_url: str, smtp_port: int) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        "[email]\n"
        'backend = "smtp"\nhost = "127.0.0.1"\n'
        f'port = {smtp_port}\ntls = "none"\nsender = "aarshjul@example.dk"\n'
        "[outbox]\n"
        f"batch_size = {BATCH}\nlease_seconds = 2\nsmtp_connections = 2\n",
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_", "SMTP_")) and k != "DATABASE_URL"
    }
    env["AARSHJUL_CONFIG"] = str(tmp_path / "config.toml")
    env["DATABASE_URL"] = database_url
    return env


async def _backlog(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        now = datetime.now(UTC)
        planned = [
            notice(
                f"crash:{i}",
                channel="email",
                address=f"member{i}@example.dk",
                subject=f"Besked {i}",
                text=f"Besked nummer {i}",
                due_at=now - timedelta(minutes=1),
            )
            for i in range(ROWS)
        ]
        async with db.transaction() as session:
            assert await outbox.enqueue(session, planned, now=now) == ROWS
    finally:
        await db.dispose()


async def _rows(database_url: str) -> list[tuple[int, str, str | None, str | None]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            result = await session.execute(
                text("SELECT id, state, external_id, claimed_by FROM outbox ORDER BY id")
            )
            return [tuple(r) for r in result.all()]  # type: ignore[misc]
    finally:
        await db.dispose()


def _row_id(message_id: str) -> int:
    found = re.match(r"<aarshjul\.(\d+)\.", message_id)
    assert found, message_id
    return int(found.group(1))


def test_sigkill_mid_batch_loses_nothing_and_repeats_only_what_the_log_names(
    database_url: str, tmp_path: Path, smtp_sink: Any
) -> None:
    sink, port = smtp_sink
    asyncio.run(_backlog(database_url))
    env = _environment(tmp_path, database_url, port)

    with (tmp_path / "first.log").open("w") as handle:
        first = subprocess.Popen(
            [_script(), "run", "--drain"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    deadline = time.monotonic() + 120
    while sink.count() < ROWS // 3 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    delivered_before = sink.count()
    assert 0 < delivered_before < ROWS, "the kill must land mid-run"

    second = subprocess.run(
        [_script(), "run", "--drain"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stderr

    rows = asyncio.run(_rows(database_url))
    assert len(rows) == ROWS
    assert {state for _, state, _, _ in rows} == {"sent"}
    received = Counter(sink.ids)
    expected = {external_id for _, _, external_id, _ in rows}
    assert set(received) == expected, "every notification arrives"
    repeated = {_row_id(mid) for mid, n in received.items() if n > 1}
    named = {int(n) for n in re.findall(r"reclaimed id=(\d+)", log)}
    assert repeated <= named, f"repeated rows the log did not name: {sorted(repeated - named)}"
    assert len(named) <= BATCH * 2, "only rows in flight (at most one batch per connection)"
    assert max(received.values()) <= 2


def test_two_workers_on_postgresql_drain_without_duplicates(
    database_url: str, tmp_path: Path, smtp_sink: Any
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two workers on one database is the PostgreSQL case (SKIP LOCKED)")
    sink, port = smtp_sink
    asyncio.run(_backlog(database_url))
    env = _environment(tmp_path, database_url, port)
    # Logs go to files: a full pipe nobody reads would stall a worker mid-run.
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = []
    for path in logs:
        with path.open("w") as handle:
            workers.append(
                subprocess.Popen(
                    [_script(), "run", "--drain"],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=handle,
                )
            )
    for w in workers:
        w.wait(timeout=300)
    outputs = [path.read_text() for path in logs]
    assert [w.returncode for w in workers] == [0, 0], [o[-2000:] for o in outputs]

    rows = asyncio.run(_rows(database_url))
    assert {state for _, state, _, _ in rows} == {"sent"}
    received = Counter(sink.ids)
    assert len(sink.ids) == ROWS and max(received.values()) == 1, "zero duplicates"
    assert set(received) == {external_id for _, _, external_id, _ in rows}
    sent_per_worker = [int(re.findall(r"drained sent=(\d+)", o)[0]) for o in outputs]
    assert sum(sent_per_worker) == ROWS
    assert len({claimed for _, _, _, claimed in rows}) == 2, "both workers took part"


# --- the 1,000-member fan-out: DM + e-mail each, killed, slowed, and shared ---------------

MEMBERS = 1000
#: outbox.concurrency at its default: the most a kill may repeat, per channel.
CONCURRENCY = 16


def _fanout_environment(
    tmp_path: Path, database_url: str, servers: StandInsThread
) -> dict[str, str]:
    """Default [outbox] settings: no shortened lease, timeout or heartbeat."""
    env = _environment(tmp_path, database_url, servers.smtp.port)
    (tmp_path / "config.toml").write_text(
        "[email]\n"
        'backend = "smtp"\nhost = "127.0.0.1"\n'
        f'port = {servers.smtp.port}\ntls = "none"\nsender = "aarshjul@example.dk"\n',
        encoding="utf-8",
    )
    env["SLACK_BOT_TOKEN"] = "xoxb-crash"
    env["SLACK_API_URL"] = servers.slack.base_url
    return env


async def _fanout(
    database_url: str,
    *,
    members: int = MEMBERS,
    dm_known: bool = False,
    channels: tuple[str, ...] = ("slack", "email"),
) -> None:
    """``members`` people, and one announcement to each by Slack DM and by e-mail."""
    db = Database(database_url)
    try:
        await db.upgrade()
        now = datetime.now(UTC)
        async with db.transaction() as session:
            session.add_all(
                Person(
                    id=i + 1,
                    name=f"Medlem {i}",
                    email=f"member{i}@example.dk",
                    slack_id=f"U{i:07d}",
                    slack_dm_channel=f"D{i:07d}" if dm_known else None,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(members)
            )
        planned = [
            notice(
                "announce",
                channel=channel,
                address=f"U{i:07d}" if channel == "slack" else f"member{i}@example.dk",
                subject="Høring: beskæftigelsesplanen",
                text=f"Ny høring til medlem {i}",
                due_at=now - timedelta(minutes=1),
                person_id=i + 1,
            )
            for i in range(members)
            for channel in channels
        ]
        async with db.transaction() as session:
            assert await outbox.enqueue(session, planned, now=now) == len(channels) * members
    finally:
        await db.dispose()


async def _outbox(database_url: str) -> list[tuple[int, str, str, str, str | None, str | None]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            result = await session.execute(
                text(
                    "SELECT id, channel, address, state, external_id, claimed_by "
                    "FROM outbox ORDER BY id"
                )
            )
            return [tuple(r) for r in result.all()]  # type: ignore[misc]
    finally:
        await db.dispose()


async def _scalar(database_url: str, sql: str) -> Any:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return await session.scalar(text(sql))
    finally:
        await db.dispose()


def _start(env: dict[str, str], cwd: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``aarshjul run`` (the long-running bot: timer, worker, HTTP on a free port)."""
    with log.open("w") as handle:
        return subprocess.Popen(
            [_script(), "run", "--port", "0", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # reaped: its pid is gone, as after a real crash
    assert proc.returncode == -signal.SIGKILL


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _wait_for(what: str, ok: Any, *, within: float, procs: list[Any], logs: list[Path]) -> float:
    """Poll the world outside (servers, database) until ``ok()``; returns the seconds taken."""
    start = time.monotonic()
    while not ok():
        for proc, log in zip(procs, logs, strict=True):
            assert proc.poll() is None, f"{log.name} exited: {log.read_text()[-3000:]}"
        assert time.monotonic() - start < within, f"{what}: not within {within} s"
        time.sleep(0.01)
    return time.monotonic() - start


def _all_sent(database_url: str) -> Any:
    def check() -> bool:
        left = asyncio.run(
            _scalar(database_url, "SELECT count(*) FROM outbox WHERE state <> 'sent'")
        )
        return int(left) == 0

    return check


def _reclaimed(log: Path) -> set[int]:
    return {int(n) for n in re.findall(r"reclaimed id=(\d+)", log.read_text())}


def _deliveries(
    servers: StandInsThread, database_url: str
) -> tuple[dict[int, int], list[tuple[int, str, str, str, str | None, str | None]]]:
    """How many times each outbox row reached its recipient (DMs by channel, mail by id)."""
    rows = asyncio.run(_outbox(database_url))
    by_dm = {
        f"D{address[1:]}": row_id for row_id, channel, address, *_ in rows if channel == "slack"
    }
    counts: Counter[int] = Counter()
    for channel in servers.posted_channels():
        counts[by_dm[channel]] += 1
    for mid in servers.mail_ids():
        counts[_row_id(mid)] += 1
    return dict(counts), rows


def test_sigkill_three_times_in_a_fanout_repeats_only_what_was_in_flight(
    database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_fanout(database_url))
    total = 2 * MEMBERS
    with StandInsThread() as servers:
        env = _fanout_environment(tmp_path, database_url, servers)
        logs = [tmp_path / f"run{i}.log" for i in range(4)]
        proc = _start(env, tmp_path, logs[0])
        delivered_at_kill = []
        for kill, share in enumerate((0.2, 0.45, 0.7)):
            _wait_for(
                f"kill {kill + 1}",
                lambda s=share: servers.delivered() >= s * total,
                within=120,
                procs=[proc],
                logs=[logs[kill]],
            )
            _kill(proc)
            delivered_at_kill.append(servers.delivered())
            restarted = time.monotonic()
            proc = _start(env, tmp_path, logs[kill + 1])
        drained = _wait_for(
            "drain", _all_sent(database_url), within=120, procs=[proc], logs=[logs[3]]
        )
        restarted_to_drained = time.monotonic() - restarted
        _stop(proc, logs[3])
        counts, rows = _deliveries(servers, database_url)

    channel_of = {row_id: channel for row_id, channel, *_ in rows}
    missing = [row_id for row_id, *_ in rows if counts.get(row_id, 0) == 0]
    extra = {row_id: n - 1 for row_id, n in counts.items() if n > 1}
    per_kill = []
    for kill in range(3):
        named = _reclaimed(logs[kill + 1])
        repeated = {row_id for row_id in extra if row_id in named}
        per_kill.append(
            {c: sum(1 for r in repeated if channel_of[r] == c) for c in ("slack", "email")}
        )
    figures = (
        f"fan-out crash ({database_url.split(':')[0]}): {total} rows (1,000 members, DM + "
        f"e-mail), SIGKILL after {delivered_at_kill} deliveries; missing {len(missing)}; "
        f"duplicates per kill (DM, e-mail): "
        + ", ".join(f"({k['slack']}, {k['email']})" for k in per_kill)
        + f"; total extra deliveries {sum(extra.values())}; last restart to all sent "
        f"{restarted_to_drained:.1f} s"
    )
    print(figures)
    sys.stderr.write(figures + "\n")
    assert missing == []
    assert {state for _, _, _, state, _, _ in rows} == {"sent"}
    assert set(extra) <= set().union(*(_reclaimed(log) for log in logs[1:])), (
        "every repeated row was named in a 'reclaimed' line"
    )
    for kill in per_kill:
        assert kill["slack"] <= CONCURRENCY and kill["email"] <= CONCURRENCY, per_kill
    assert restarted_to_drained <= 60, figures
    assert drained <= 60
    # The DM channels learnt reached the database with the outcomes; the clean stop
    # removed the last worker's heartbeat; the dead ones were forgotten.
    assert (
        asyncio.run(
            _scalar(database_url, "SELECT count(*) FROM person WHERE slack_dm_channel IS NULL")
        )
        == 0
    )
    assert asyncio.run(_scalar(database_url, "SELECT count(*) FROM worker")) == 0


def test_a_slow_worker_keeps_its_rows_and_a_second_worker_beside_it_takes_none(
    database_url: str, tmp_path: Path
) -> None:
    # One batch of 100 DMs, each call answered after 5 s, 16 at a time: the batch takes
    # 7 rounds (35 s), past worker_timeout (30 s), lease and timeout at their defaults.
    asyncio.run(_fanout(database_url, members=100, dm_known=True, channels=("slack",)))
    with StandInsThread() as servers:
        servers.slack.delay = 5.0
        env = _fanout_environment(tmp_path, database_url, servers)
        logs = [tmp_path / "slow.log", tmp_path / "beside.log"]
        slow = _start(env, tmp_path, logs[0])
        procs = [slow]
        try:
            claimed = "SELECT count(*) FROM outbox WHERE state = 'sending'"
            _wait_for(
                "the slow worker's claim",
                lambda: asyncio.run(_scalar(database_url, claimed)) == 100,
                within=60,
                procs=procs,
                logs=logs[:1],
            )
            started = time.monotonic()
            procs.append(_start(env, tmp_path, logs[1]))
            _wait_for("drain", _all_sent(database_url), within=120, procs=procs, logs=logs)
            batch = time.monotonic() - started
        finally:
            for proc, log in zip(procs, logs, strict=False):
                if proc.poll() is None:
                    _stop(proc, log)
        counts, rows = _deliveries(servers, database_url)
    holders = {claimed_by for *_, claimed_by in rows}
    figures = (
        f"slow worker ({database_url.split(':')[0]}): 100 DMs, each Slack call delayed 5 s, "
        f"batch delivered in {batch:.1f} s with a second worker beside it; holders "
        f"{len(holders)}; sent twice {sum(1 for n in counts.values() if n > 1)}; "
        f"reclaimed by the second {len(_reclaimed(logs[1]))}"
    )
    print(figures)
    sys.stderr.write(figures + "\n")
    assert batch > 30, "the batch outlasted worker_timeout"
    assert len(holders) == 1, "every row stayed with the slow worker"
    assert _reclaimed(logs[1]) == set()
    assert sorted(counts.values()) == [1] * 100, "nothing sent twice, nothing missing"


def test_two_replicas_on_postgresql_one_killed_lose_nothing_and_repeat_only_in_flight(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two replicas on one database is the PostgreSQL case (SKIP LOCKED)")
    asyncio.run(_fanout(database_url))
    total = 2 * MEMBERS
    with StandInsThread() as servers:
        env = _fanout_environment(tmp_path, database_url, servers)
        logs = [tmp_path / "replica0.log", tmp_path / "replica1.log"]
        procs = [_start(env, tmp_path, log) for log in logs]
        try:
            holders = "SELECT count(DISTINCT claimed_by) FROM outbox WHERE state = 'sent'"
            _wait_for(
                "both replicas delivering, a third done",
                lambda: (
                    servers.delivered() >= total / 3
                    and asyncio.run(_scalar(database_url, holders)) == 2
                ),
                within=120,
                procs=procs,
                logs=logs,
            )
            _kill(procs[0])
            at_kill = servers.delivered()
            killed = time.monotonic()
            _wait_for("drain", _all_sent(database_url), within=120, procs=procs[1:], logs=logs[1:])
            kill_to_drained = time.monotonic() - killed
        finally:
            if procs[1].poll() is None:
                _stop(procs[1], logs[1])
        counts, rows = _deliveries(servers, database_url)
    channel_of = {row_id: channel for row_id, channel, *_ in rows}
    missing = [row_id for row_id, *_ in rows if counts.get(row_id, 0) == 0]
    extra = {row_id for row_id, n in counts.items() if n > 1}
    repeated = {c: sum(1 for r in extra if channel_of[r] == c) for c in ("slack", "email")}
    by_worker = Counter(claimed_by for *_, claimed_by in rows)
    figures = (
        f"two replicas (postgresql), one SIGKILLed after {at_kill} of {total} deliveries: "
        f"missing {len(missing)}; duplicates DM {repeated['slack']}, e-mail "
        f"{repeated['email']}; rows per worker {sorted(by_worker.values())}; "
        f"kill to all sent {kill_to_drained:.1f} s"
    )
    print(figures)
    sys.stderr.write(figures + "\n")
    assert missing == []
    assert {state for _, _, _, state, _, _ in rows} == {"sent"}
    assert repeated["slack"] <= CONCURRENCY and repeated["email"] <= CONCURRENCY, figures
    assert extra <= _reclaimed(logs[1]), "every repeated row was named in a 'reclaimed' line"
    assert len(by_worker) == 2
