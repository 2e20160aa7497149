"""Real processes against a real SMTP server: a worker killed mid-batch, and two workers at once.

The worker is ``aarshjul run --drain`` as a subprocess; the SMTP server is aiosmtpd on
loopback in a thread of the test, counting every Message-ID it receives.
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
