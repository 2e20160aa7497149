"""Planning: the full year's reminders for 100 councils (25 members each), time and memory.

Prints figures, asserts nothing. Two steps, as ``aarshjul run`` and the daily
re-plan do them:

* plan: the cycle engine dates the year for 100 LBRs, and the pure planner turns
  every event into its reminders (offsets 14, 7, 1, 0 working days; channel,
  secretariat and, for hearings and meetings, each member by Slack DM);
* write: ``outbox.sync_plan`` puts the plan into an empty SQLite outbox, then
  re-plans it unchanged (the daily case). Baseline in the same run: a bare
  SQLAlchemy ``executemany`` INSERT of the same rows into an empty table.

    python benchmarks/planning.py
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
import time
import tracemalloc
import warnings
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot.services.reminders import DEFAULT_AUDIENCES
from scheduler.cycle import compute_cycle
from scheduler.model import CouncilKind
from scheduler.planner import CouncilAudience, Deadline, Recipient, SendWindow, plan_deadlines
from scheduler.template import load_template
from scheduler.workdays import WorkingCalendar
from storage import outbox
from storage.db import Database
from storage.models import Council, OutboxMessage

COUNCILS, MEMBERS, YEAR = 100, 25, 2027
NOW = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)


def plan() -> list:  # type: ignore[type-arg]
    template = load_template("default")
    calendar = WorkingCalendar()
    window = SendWindow(tz=ZoneInfo("Europe/Copenhagen"), calendar=calendar)
    deadlines = []
    audiences = {}
    for c in range(1, COUNCILS + 1):
        for dated in compute_cycle(template, YEAR, calendar, kind=CouncilKind.LBR):
            deadlines.append(
                Deadline(
                    source=f"cycle:{c}:{dated.key}",
                    council_id=c,
                    day=dated.date,
                    offsets=(14, 7, 1, 0),
                    audiences=DEFAULT_AUDIENCES[dated.event.type],
                    message="reminder",
                    params={
                        "council": f"LBR {c}",
                        "title_da": dated.event.title_da,
                        "title_en": dated.event.title_en,
                        "type": dated.event.type.value,
                        "owner": dated.event.owner.value,
                    },
                )
            )
        members = tuple(
            Recipient(f"person:{c * 100 + m}", "slack", f"U{c:04d}{m:04d}", "da", None)
            for m in range(MEMBERS)
        )
        audiences[c] = CouncilAudience(
            council_id=c,
            channel=(Recipient(f"council:{c}:channel", "slack", f"#lbr-{c}", "da"),),
            members=members,
            secretariat=(Recipient(f"council:{c}:secretariat", "email", f"s{c}@x.dk", "da"),),
        )
    return plan_deadlines(deadlines, audiences, window, send_at=dtime(8, 0), now=NOW)


async def write(planned: list, folder: Path) -> tuple[float, float, float]:  # type: ignore[type-arg]
    timings = []
    for name in ("ours", "bare"):
        db = Database(f"sqlite+aiosqlite:///{folder / (name + '.db')}")
        await db.upgrade()
        async with db.transaction() as session:
            await session.execute(
                insert(Council),
                [
                    {"id": c, "key": f"lbr-{c}", "kind": "LBR", "name": f"LBR {c}",
                     "active": True, "created_at": NOW, "updated_at": NOW}
                    for c in range(1, COUNCILS + 1)
                ],
            )  # fmt: skip
        start = time.perf_counter()
        async with db.transaction() as session:
            if name == "ours":
                await outbox.sync_plan(session, planned, source_prefix="cycle:", now=NOW)
            else:
                rows = [outbox._row_values(p, NOW) for p in planned]
                await session.execute(insert(OutboxMessage), rows)
        timings.append(time.perf_counter() - start)
        if name == "ours":
            start = time.perf_counter()
            async with db.transaction() as session:
                report = await outbox.sync_plan(session, planned, source_prefix="cycle:", now=NOW)
            assert report.inserted == report.updated == report.withdrawn == 0
            replan = time.perf_counter() - start
        await db.dispose()
    return timings[0], replan, timings[1]


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    tracemalloc.start()
    start = time.perf_counter()
    planned = plan()
    planning = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        first, again, bare = asyncio.run(write(planned, Path(tmp)))
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}"
    )
    print(
        f"plan: {COUNCILS} councils × {MEMBERS} members, year {YEAR}: {len(planned):,} "
        f"notifications in {planning:.2f} s, peak traced memory {peak / 2**20:.0f} MB"
    )
    print(
        f"write into an empty SQLite outbox: {first:.2f} s "
        f"({len(planned) / first:,.0f} rows/s); bare executemany INSERT {bare:.2f} s "
        f"→ {bare / first:.2f} × the bare rate"
    )
    print(f"re-plan unchanged (the daily run): {again:.2f} s")


if __name__ == "__main__":
    main()
