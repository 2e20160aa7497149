"""Fan-out: 100 councils × 25 members, one reminder each by Slack DM and e-mail (5,000).

Prints figures, asserts nothing. The Slack-compatible server and the SMTP server
(tests/servers.py) run in a process of their own on loopback. In the same run:

* ours: the outbox worker delivering the 5,000 planned rows (claim, render,
  send, record), Slack DMs opened with conversations.open on first use ("cold")
  and again for a second round with the DM channels known ("warm");
* bare baseline: a plain aiosmtplib loop on one connection sending 2,500
  messages, and plain ``AsyncWebClient.chat_postMessage`` calls for the other
  2,500, timed one after the other.

The baseline runs before every round of ours and after the last, and each round
is compared with the mean of the two baselines either side of it: the machine's
load drifts within seconds, so a baseline measured a minute away says little.
``--rounds`` sets how many rounds (the first cold, the others warm); both loops
at once (the bare loops' concurrency) is timed once, for information.

    python benchmarks/fanout.py [--rounds 3] [--database-url postgresql://127.0.0.1:5432/test]
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


async def ours(
    database_url: str, servers: Servers, workdir: Path, rounds: int
) -> tuple[list[tuple[str, float]], list[tuple[float, float]]]:
    """Our rates per round, and the serial baselines (e-mail s, Slack s) around them."""
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
    baselines = []
    async with open_app(config, FixedClock(NOW)) as ctx:
        await ctx.db.upgrade()
        await _people(ctx)
        channels = await build_channels(ctx)
        try:
            for round_no in range(1, rounds + 1):
                label = "cold (DMs opened)" if round_no == 1 else "warm (DM channels known)"
                rows = await _seed(ctx, round_no)
                baselines.append(await serial_baseline(servers))
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
            baselines.append(await serial_baseline(servers))
        finally:
            for channel in channels.values():
                await channel.close()
    return results, baselines


async def serial_baseline(servers: Servers) -> tuple[float, float]:
    """Seconds for the bare aiosmtplib loop, then for the bare chat_postMessage loop."""
    smtp_loop, slack_loop = _bare_loops(servers)
    return await smtp_loop(), await slack_loop()


async def concurrent_baseline(servers: Servers) -> float:
    """Seconds for both bare loops at once."""
    smtp_loop, slack_loop = _bare_loops(servers)
    start = time.perf_counter()
    await asyncio.gather(smtp_loop(), slack_loop())
    return time.perf_counter() - start


def _bare_loops(servers: Servers):  # type: ignore[no-untyped-def]
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

    return smtp_loop, slack_loop


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
    parser.add_argument("--rounds", type=int, default=3, help="rounds of ours (≥ 2)")
    args = parser.parse_args()
    n = COUNCILS * MEMBERS * 2
    with (
        tempfile.TemporaryDirectory() as tmp,
        Servers() as servers,
        _database(args.database_url) as pg_url,
    ):
        workdir = Path(tmp)
        url = pg_url or f"sqlite:///{workdir / 'bench.db'}"
        figures, baselines = asyncio.run(ours(url, servers, workdir, max(2, args.rounds)))
        t_both = asyncio.run(concurrent_baseline(servers))
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, database: {'PostgreSQL' if args.database_url else 'SQLite'}"
    )
    serial = [n / (t_smtp + t_slack) for t_smtp, t_slack in baselines]
    print(
        "baseline, one after the other (aiosmtplib 2,500, then chat_postMessage 2,500), "
        "around the rounds: " + ", ".join(f"{rate:.0f}" for rate in serial) + " deliveries/s"
    )
    t_smtp = sum(b[0] for b in baselines) / len(baselines)
    t_slack = sum(b[1] for b in baselines) / len(baselines)
    print(
        f"  mean: aiosmtplib {n / 2 / t_smtp:.0f}/s, chat_postMessage {n / 2 / t_slack:.0f}/s; "
        f"both loops at once (once, at the end): {n / t_both:.0f} deliveries/s"
    )
    ratios: dict[str, list[float]] = {}
    for i, (label, rate) in enumerate(figures):
        base = (serial[i] + serial[i + 1]) / 2
        ratios.setdefault(label, []).append(rate / base)
        print(
            f"outbox worker, round {i + 1}, {n:,} deliveries, {label}: {rate:.0f} deliveries/s "
            f"= {rate / base:.2f} × the baseline around it ({base:.0f}/s)"
        )
    for label, values in ratios.items():
        print(f"{label}: {min(values):.2f}–{max(values):.2f} × the baseline")


if __name__ == "__main__":
    main()
