"""Fan-out: 100 councils × 25 members, one reminder each by Slack DM and e-mail (5,000).

Prints figures, asserts nothing. The Slack-compatible server and the SMTP server
(tests/servers.py) run in a process of their own on loopback. In the same run:

* ours: the outbox worker delivering the 5,000 planned rows (claim, render,
  send, record), Slack DMs opened with conversations.open on first use ("cold")
  and again for a second round with the DM channels known ("warm");
* bare baseline: a plain aiosmtplib loop on one connection sending 2,500
  messages, and plain ``AsyncWebClient.chat_postMessage`` calls for the other
  2,500 (timed one after the other, and also both loops at once), run before
  and after ours and averaged.

    python benchmarks/fanout.py [--database-url postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from datetime import time as dtime
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert

from benchmarks._servers import Servers
from bot.config import load_config
from bot.runner import build_channels, build_worker
from bot.services.app import open_app
from bot.services.reminders import send_window
from scheduler.clock import FixedClock
from scheduler.planner import (
    Audience,
    CouncilAudience,
    Deadline,
    Recipient,
    plan_deadlines,
)
from storage import outbox
from storage.models import Council, Person

COUNCILS, MEMBERS = 100, 25
# Monday 7 December 2026, 10:00 in Copenhagen: inside working hours.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _seed(ctx, round_no: int) -> int:  # type: ignore[no-untyped-def]
    now = ctx.clock.now()
    audiences = {}
    deadlines = []
    for c in range(1, COUNCILS + 1):
        members = []
        for m in range(MEMBERS):
            pid = (c - 1) * MEMBERS + m + 1
            lang = "da"
            members.append(Recipient(f"person:{pid}", "slack", f"U{pid:08d}", lang, pid))
            members.append(
                Recipient(f"person:{pid}", "email", f"member{pid}@example.dk", lang, pid)
            )
        audiences[c] = CouncilAudience(council_id=c, members=tuple(members))
        deadlines.append(
            Deadline(
                source=f"bench{round_no}:{c}",
                council_id=c,
                day=date(2026, 12, 7),
                offsets=(0,),
                audiences=frozenset({Audience.MEMBERS}),
                message="reminder",
                params={
                    "council": f"LBR {c}",
                    "title_da": "Høringsfrist: beskæftigelsesplanen",
                    "title_en": "Hearing deadline: the employment plan",
                    "type": "hearing",
                    "owner": "LBR",
                },
            )
        )
    planned = plan_deadlines(deadlines, audiences, send_window(ctx), send_at=dtime(8, 0), now=None)
    async with ctx.db.transaction() as session:
        return await outbox.enqueue(session, planned, now=now)


async def _people(ctx) -> None:  # type: ignore[no-untyped-def]
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await session.execute(
            insert(Council),
            [
                {
                    "id": c,
                    "key": f"lbr-{c}",
                    "kind": "LBR",
                    "name": f"LBR {c}",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(1, COUNCILS + 1)
            ],
        )
        await session.execute(
            insert(Person),
            [
                {
                    "id": p,
                    "name": f"Medlem {p}",
                    "email": f"member{p}@example.dk",
                    "slack_id": f"U{p:08d}",
                    "notify": "both",
                    "digest": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in range(1, COUNCILS * MEMBERS + 1)
            ],
        )


async def ours(database_url: str, servers: Servers, workdir: Path) -> list[tuple[str, float]]:
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_API_URL": servers.slack_url,
        "AARSHJUL__EMAIL__BACKEND": "smtp",
        "AARSHJUL__EMAIL__HOST": "127.0.0.1",
        "AARSHJUL__EMAIL__PORT": str(servers.smtp_port),
        "AARSHJUL__EMAIL__TLS": "none",
    }
    # AARSHJUL__OUTBOX__… variables of the caller tune the worker.
    environ.update({k: v for k, v in os.environ.items() if k.startswith("AARSHJUL__OUTBOX__")})
    config = load_config(environ=environ, cwd=workdir)
    results = []
    async with open_app(config, FixedClock(NOW)) as ctx:
        await ctx.db.upgrade()
        await _people(ctx)
        channels = await build_channels(ctx)
        try:
            for round_no, label in ((1, "cold (DMs opened)"), (2, "warm (DM channels known)")):
                rows = await _seed(ctx, round_no)
                worker = build_worker(ctx, channels)
                start = time.perf_counter()
                sent = 0
                while True:
                    report = await worker.drain()
                    sent += report.sent
                    if report.claimed == 0:
                        break
                elapsed = time.perf_counter() - start
                assert sent == rows == COUNCILS * MEMBERS * 2, (sent, rows)
                results.append((label, rows / elapsed))
        finally:
            for channel in channels.values():
                await channel.close()
    return results


async def baseline(servers: Servers) -> tuple[float, float, float]:
    n = COUNCILS * MEMBERS

    async def smtp_loop() -> float:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp_port, start_tls=False)
        await client.connect()
        start = time.perf_counter()
        for i in range(n):
            mail = EmailMessage()
            mail["From"] = "aarshjul@example.dk"
            mail["To"] = f"base{i}@example.dk"
            mail["Subject"] = "Påmindelse: Høringsfrist: beskæftigelsesplanen"
            mail.set_content("Høringen har svarfrist mandag den 7. december 2026 – i dag.")
            await client.send_message(mail)
        elapsed = time.perf_counter() - start
        await client.quit()
        return elapsed

    async def slack_loop() -> float:
        client = AsyncWebClient(token="xoxb-bench", base_url=servers.slack_url)
        start = time.perf_counter()
        for i in range(n):
            await client.chat_postMessage(channel=f"D{i:08d}", text="Høringen har svarfrist i dag.")
        return time.perf_counter() - start

    t_smtp = await smtp_loop()
    t_slack = await slack_loop()
    start = time.perf_counter()
    await asyncio.gather(smtp_loop(), slack_loop())
    t_both = time.perf_counter() - start
    return t_smtp, t_slack, t_both


@contextlib.contextmanager
def _database(server_url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database on that server for the run, dropped afterwards."""
    if not server_url:
        yield None
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(server_url)
    name = f"aarshjul_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username,
            password=base.password, database=base.database or "postgres",
        )  # fmt: skip
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(drivername="postgresql", database=name).render_as_string(False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = COUNCILS * MEMBERS * 2
    with (
        tempfile.TemporaryDirectory() as tmp,
        Servers() as servers,
        _database(args.database_url) as pg_url,
    ):
        workdir = Path(tmp)
        url = pg_url or f"sqlite:///{workdir / 'bench.db'}"
        # Baseline before and after ours, averaged: the machine's load drifts.
        first = asyncio.run(baseline(servers))
        figures = asyncio.run(ours(url, servers, workdir))
        second = asyncio.run(baseline(servers))
        t_smtp, t_slack, t_both = ((a + b) / 2 for a, b in zip(first, second, strict=True))
    base_serial = n / (t_smtp + t_slack)
    base_both = n / t_both
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, database: {'PostgreSQL' if args.database_url else 'SQLite'}"
    )
    print(
        f"baseline: aiosmtplib 2,500 in {t_smtp:.2f} s ({n / 2 / t_smtp:.0f}/s), "
        f"chat_postMessage 2,500 in {t_slack:.2f} s ({n / 2 / t_slack:.0f}/s)"
    )
    print(
        f"baseline, one after the other: {base_serial:.0f} deliveries/s; "
        f"both loops at once: {base_both:.0f} deliveries/s"
    )
    for label, rate in figures:
        print(
            f"outbox worker, {n:,} deliveries, {label}: {rate:.0f} deliveries/s = "
            f"{rate / base_serial:.2f} × serial baseline, {rate / base_both:.2f} × concurrent"
        )


if __name__ == "__main__":
    main()
