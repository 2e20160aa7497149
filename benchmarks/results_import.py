"""Results import: 5 years × 98 jobcentres × 20 measures (117,600 rows), imported and
checked, against a bare ``csv.reader`` + ``executemany`` load of the same rows.

Prints figures, asserts nothing. The file is what a secretariat downloads from
Jobindsats.dk and saves from Danish Excel: semicolons, decimal commas, Windows-1252,
periods as ``2026M09``. In the same run, on a fresh database each:

* bare: ``csv.reader`` over the decoded file, ``float(value.replace(",", "."))`` and one
  ``executemany`` INSERT of the 117,600 rows into a plain four-column table (timed before
  and after ours; the mean is the baseline);
* ours: ``import_results`` (headings, jobcentre names, measures, periods, values, the
  look-up of stored figures, the INSERT, the audit entry) and ``run_check`` (the
  group means without each jobcentre itself, the runs beyond the thresholds of the four
  RBRs, the deviations found with their chart's figures, and their outbox rows; the
  chart itself is drawn when an alert goes out), in one transaction;
* again: the same file re-imported (nothing changes) and checked.

    python benchmarks/results_import.py [--database-url postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import sys
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert
from sqlalchemy.engine import make_url

from bot.config import load_config
from bot.services.app import open_app
from bot.services.councils import sync_councils
from bot.services.results.alerts import run_check
from bot.services.results.importing import import_results
from scheduler.clock import FixedClock

JOBCENTRES, MEASURES, YEARS = 98, 20, 5
REGIONS = ("hovedstaden", "syddanmark", "midtjylland", "nordjylland")
GROUP_SIZE = 8
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
#: Jobcentres whose figures drift past the threshold for the last 3 months.
DRIFTERS = {(5, 0), (40, 7)}

bare_metadata = MetaData()
bare_table = Table(
    "bare_value",
    bare_metadata,
    Column("id", Integer, primary_key=True),
    Column("jobcentre", String(100)),
    Column("measure", String(64)),
    Column("period", String(8)),
    Column("value", Float),
)


def config_text() -> str:
    parts = ['[general]\nlanguage = "da"\n']
    for region in REGIONS:
        parts.append(f'[[councils]]\nkey = "rbr-{region}"\nkind = "RBR"\nname = "RBR {region}"\n')
    for j in range(JOBCENTRES):
        region = REGIONS[j % len(REGIONS)]
        parts.append(
            f'[[councils]]\nkey = "lbr-{j:03d}"\nkind = "LBR"\nname = "LBR Kommune {j}"\n'
            f'region = "rbr-{region}"\njobcentre = "Kommune {j}"\n'
        )
    for m in range(MEASURES):
        parts.append(
            f'[results.measures.m{m:02d}]\nname_da = "Mål {m}"\nname_en = "Measure {m}"\n'
            f'unit = "pct."\nhigher_is_better = {"true" if m % 2 else "false"}\n'
        )
    keys = [f"lbr-{j:03d}" for j in range(JOBCENTRES)]
    for g in range(0, JOBCENTRES, GROUP_SIZE):
        members = ", ".join(f'"{k}"' for k in keys[g : g + GROUP_SIZE])
        parts.append(f'[[results.groups]]\nkey = "klynge-{g}"\nname = "Klynge {g}"\n'
                     f"members = [{members}]\n")  # fmt: skip
    for region in REGIONS:
        for m in range(MEASURES):
            parts.append(
                f'[[results.thresholds]]\ncouncil = "rbr-{region}"\nmeasure = "m{m:02d}"\n'
                f'percent = 10\nagreed_on = 2026-01-15\nagreed_with = "Regionsdirektøren"\n'
            )
    return "\n".join(parts)


def months() -> list[str]:
    return [f"{2022 + i // 12}M{i % 12 + 1:02d}" for i in range(YEARS * 12)]


def results_file() -> bytes:
    out = io.StringIO()
    out.write("jobcenter;mål;periode;værdi\r\n")
    periods = months()
    for i, period in enumerate(periods):
        for j in range(JOBCENTRES):
            for m in range(MEASURES):
                base = 20.0 + m
                value = base * (1 + ((j * 3 + i * 2 + m) % 7 - 3) / 100)
                if (j, m) in DRIFTERS and i >= len(periods) - 3:
                    value = base * (0.75 if m % 2 else 1.25)
                text = f"{value:.2f}".replace(".", ",")
                out.write(f"Kommune {j};m{m:02d};{period};{text}\r\n")
    return out.getvalue().encode("cp1252")


async def bare_load(url: str, data: bytes) -> float:
    from storage.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(bare_metadata.drop_all)
            await conn.run_sync(bare_metadata.create_all)
        start = time.perf_counter()
        reader = csv.reader(io.StringIO(data.decode("cp1252"), newline=""), delimiter=";")
        next(reader)
        rows = [
            {"jobcentre": j, "measure": m, "period": p, "value": float(v.replace(",", "."))}
            for j, m, p, v in reader
        ]
        async with db.engine.begin() as conn:
            await conn.execute(insert(bare_table), rows)
        return time.perf_counter() - start
    finally:
        async with db.engine.begin() as conn:
            await conn.run_sync(bare_metadata.drop_all)
        await db.dispose()


async def ours(url: str, folder: Path, data: bytes) -> tuple[float, float, int, int]:
    (folder / "config.toml").write_text(config_text(), encoding="utf-8")
    config = load_config(environ={"DATABASE_URL": url}, cwd=folder)
    settings = config.settings
    async with open_app(config, FixedClock(NOW)) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as session:
            await sync_councils(session, settings.councils, now=NOW, actor="bench")
        timings: list[float] = []
        found = added = 0
        for _ in range(2):
            start = time.perf_counter()
            async with ctx.db.transaction() as session:
                report = await import_results(
                    session,
                    data,
                    results=settings.results,
                    councils=settings.councils,
                    now=NOW,
                    actor="bench",
                    language="da",
                )
                assert not report.rejected, report.rejected[:3]
                outcome = await run_check(session, ctx, actor="bench", known=report)
            timings.append(time.perf_counter() - start)
            if not timings[1:]:
                found, added = len(outcome.found), report.added
        return timings[0], timings[1], added, found


async def with_database(base: str | None, job):  # type: ignore[no-untyped-def]
    if base is None:
        with tempfile.TemporaryDirectory() as tmp:
            return await job(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
    import asyncpg

    url = make_url(base)
    name = f"aarshjul_bench_{uuid.uuid4().hex[:12]}"
    admin = dict(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
                 password=url.password, database=url.database or "postgres")  # fmt: skip
    conn = await asyncpg.connect(**admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        target = url.set(drivername="postgresql+asyncpg", database=name)
        with tempfile.TemporaryDirectory() as tmp:
            return await job(target.render_as_string(hide_password=False), Path(tmp))
    finally:
        conn = await asyncpg.connect(**admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    data = results_file()
    rows = JOBCENTRES * MEASURES * YEARS * 12
    before = asyncio.run(with_database(args.database_url, lambda url, _: bare_load(url, data)))
    first, again, added, found = asyncio.run(
        with_database(args.database_url, lambda url, tmp: ours(url, tmp, data))
    )
    after = asyncio.run(with_database(args.database_url, lambda url, _: bare_load(url, data)))
    bare = (before + after) / 2
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}; {kind}"
    )
    print(f"file: {rows:,} rows, {len(data) / 2**20:.1f} MB (cp1252, semicolons, 2026M09)")
    print(
        f"bare csv.reader + executemany: {before:.2f} s before, {after:.2f} s after "
        f"(mean {bare:.2f} s)"
    )
    print(
        f"ours, import + check: {first:.2f} s ({added:,} rows added, {found} deviations found "
        f"and alerted) = {first / bare:.2f} × the bare load (target ≤ 2 ×)"
    )
    print(
        f"ours, the same file again (nothing changes) + check: {again:.2f} s = {again / bare:.2f} ×"
    )


if __name__ == "__main__":
    main()
