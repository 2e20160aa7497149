"""The async engine, sessions and schema upgrades.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) serves production
and several replicas. Migrations are Alembic's, run in-process by ``upgrade()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduler.errors import AarshjulError


class DatabaseError(AarshjulError):
    """The database cannot be reached or is not at the expected schema."""


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config() -> AlembicConfig:
    """An Alembic configuration pointing at the migrations shipped in this package."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    return cfg


class Database:
    """One engine and its session factory.

    Args:
        url: an async SQLAlchemy URL (``sqlite+aiosqlite:///…`` or
            ``postgresql+asyncpg://…``), as produced by the configuration.
    """

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise DatabaseError(
                    f"database folder {folder} does not exist", key="db.no_folder", folder=folder
                )
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing is committed unless the caller commits."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Create the schema or bring it to the newest migration."""

        def run(connection: Connection) -> None:
            if connection.dialect.name == "postgresql":
                # Replicas starting together: one migrates, the others wait and
                # then find nothing to do.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7270601)")
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(run)
        except (OperationalError, OSError) as exc:
            why = _short(exc)
            raise DatabaseError(
                f"cannot reach the database: {why}", key="db.unreachable", why=why
            ) from None

    async def check_schema(self) -> None:
        """Fail with a clear message unless the schema is at the newest migration."""

        def current(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        try:
            async with self.engine.connect() as connection:
                revision = await connection.run_sync(current)
        except (OperationalError, OSError) as exc:
            why = _short(exc)
            raise DatabaseError(
                f"cannot reach the database: {why}", key="db.unreachable", why=why
            ) from None
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if revision != head:
            current = revision or "-"
            raise DatabaseError(
                "the database is not initialised or is out of date "
                f"(at {current}, need {head}): run `aarshjul init`",
                key="db.not_initialised",
                current=current,
                head=head,
            )

    async def dispose(self) -> None:
        await self.engine.dispose()


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
