"""Lateness: 1,000 reminders due within the same minute; p50/p99 of (sent − due).

Prints figures, asserts nothing. Real time, real timer: the rows are due over
one minute starting 10 s from now; the APScheduler timer wakes the outbox worker
at each next due time (as ``aarshjul run`` does) and the worker sends by SMTP to
the loopback stand-in (its own process). In the same run, the bare baseline:
APScheduler 3.11 with one date job per message, each sending with aiosmtplib on
one shared connection.

The rows are unscheduled (``quiet = false``) so the figures do not depend on the
hour the benchmark runs; scheduled reminders wait for working hours.

    python benchmarks/lateness.py
"""

from __future__ import annotations

import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from benchmarks._servers import Servers
from bot.config import load_config
from bot.runner import build_channels, build_worker
from bot.services.app import open_app
from scheduler.clock import SystemClock
from scheduler.planner import notice
from scheduler.timer import Timer
from storage import outbox
from storage.models import OutboxMessage

N = 1000


def _due_times() -> list[datetime]:
    start = datetime.now(UTC) + timedelta(seconds=10)
    rng = random.Random(7)
    return sorted(start + timedelta(seconds=rng.uniform(0, 60)) for _ in range(N))


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"


async def ours(servers: Servers, workdir: Path) -> list[float]:
    environ = {
        "DATABASE_URL": f"sqlite:///{workdir / 'late.db'}",
        "AARSHJUL__EMAIL__BACKEND": "smtp",
        "AARSHJUL__EMAIL__HOST": "127.0.0.1",
        "AARSHJUL__EMAIL__PORT": str(servers.smtp_port),
        "AARSHJUL__EMAIL__TLS": "none",
    }
    config = load_config(environ=environ, cwd=workdir)
    clock = SystemClock()
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        now = clock.now()
        planned = [
            notice(
                f"late:{i}",
                channel="email",
                address=f"m{i}@example.dk",
                subject="Påmindelse",
                text="Høringsfristen er i dag.",
                due_at=due,
            )
            for i, due in enumerate(_due_times())
        ]
        async with ctx.db.transaction() as session:
            await outbox.enqueue(session, planned, now=now)
        channels = await build_channels(ctx)
        worker = build_worker(ctx, channels)

        async def wake() -> datetime | None:
            await worker.drain()
            return await worker.next_wakeup()

        async def daily() -> None:
            return None

        timer = Timer(wake=wake, daily=daily, tz=ctx.tz, now=clock.now, sweep_seconds=30)
        timer.start()
        try:
            while True:
                await asyncio.sleep(0.5)
                async with ctx.db.session() as session:
                    rows = (
                        await session.execute(
                            select(OutboxMessage.due_at, OutboxMessage.sent_at).where(
                                OutboxMessage.state == "sent"
                            )
                        )
                    ).all()
                if len(rows) == N:
                    return [(sent - due).total_seconds() for due, sent in rows]
        finally:
            timer.shutdown()
            for channel in channels.values():
                await channel.close()


async def baseline(servers: Servers) -> list[float]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp_port, start_tls=False)
    await client.connect()
    lock = asyncio.Lock()
    late: list[float] = []
    done = asyncio.Event()

    async def send(i: int, due: datetime) -> None:
        mail = EmailMessage()
        mail["From"] = "aarshjul@example.dk"
        mail["To"] = f"b{i}@example.dk"
        mail["Subject"] = "Påmindelse"
        mail.set_content("Høringsfristen er i dag.")
        async with lock:
            await client.send_message(mail)
        late.append((datetime.now(UTC) - due).total_seconds())
        if len(late) == N:
            done.set()

    scheduler = AsyncIOScheduler(job_defaults={"misfire_grace_time": None})
    for i, due in enumerate(_due_times()):
        scheduler.add_job(send, "date", run_date=due, args=[i, due])
    scheduler.start()
    await done.wait()
    scheduler.shutdown(wait=False)
    await client.quit()
    return late


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with tempfile.TemporaryDirectory() as tmp, Servers() as servers:
        start = time.perf_counter()
        base = asyncio.run(baseline(servers))
        mine = asyncio.run(ours(servers, Path(tmp)))
        elapsed = time.perf_counter() - start
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; {N} e-mails due over one minute; {elapsed:.0f} s"
    )
    print(f"bare APScheduler + aiosmtplib, one job per message: {_percentiles(base)}")
    print(f"outbox (timer wakes the worker at the next due time): {_percentiles(mine)}")


if __name__ == "__main__":
    main()
