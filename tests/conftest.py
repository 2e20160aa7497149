"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, a fixed clock.

PostgreSQL cases run when AARSHJUL_TEST_DATABASE_URL names a server (``.ci/run``
sets it); each test gets its own database, created and dropped around it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from scheduler.clock import FixedClock
from storage.db import Database
from tests.servers import SlackStandIn, SmtpStandIn

PG_ENV = "AARSHJUL_TEST_DATABASE_URL"
REPO = Path(__file__).resolve().parent.parent
TABLES = (
    "council",
    "person",
    "membership",
    "cycle_event",
    "audit_log",
    "outbox",
    "hearing",
    "hearing_invitee",
    "hearing_answer",
    "absence",
    "meeting",
    "meeting_invitee",
    "recommendation",
    "recommendation_vote",
    "agenda",
    "agenda_item",
    "hearing_mail_key",
    "hearing_mail_sent",
    "hearing_answer_file",
    "inbound_message",
    "result_value",
    "result_deviation",
)
T = TypeVar("T")


def run_sync(coro_factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop's thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


def _pg_base() -> str | None:
    return os.environ.get(PG_ENV) or None


async def _pg_admin(base: str, statement: str) -> None:
    import asyncpg

    url = make_url(base)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each kind (PostgreSQL skipped without a server)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    base = _pg_base()
    if base is None:
        pytest.skip(f"PostgreSQL case: set {PG_ENV}=postgresql://127.0.0.1:5432/test to run it")
    name = f"aarshjul_t_{uuid.uuid4().hex[:16]}"
    run_sync(lambda: _pg_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        run_sync(lambda: _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database."""
    database = Database(database_url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    """A Slack-compatible Web API on loopback that records every call."""
    async with SlackStandIn() as server:
        yield server


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpStandIn]:
    """An SMTP server on loopback that records every message."""
    async with SmtpStandIn() as server:
        yield server


@pytest.fixture
def clock() -> FixedClock:
    # A Monday morning in Copenhagen (09:00 CET).
    return FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused command changed nothing."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.engine.connect() as conn:
        for table in TABLES:
            result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            rows[table] = [tuple(r) for r in result.all()]
    return rows


def snapshot_url(url: str) -> dict[str, list[tuple[Any, ...]]]:
    async def go() -> dict[str, list[tuple[Any, ...]]]:
        database = Database(url)
        try:
            return await snapshot(database)
        finally:
            await database.dispose()

    return run_sync(go)
