"""The async engine, sessions and schema upgrades.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) serves production
and several replicas. Migrations are Alembic's, run in-process by ``upgrade()``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduler.errors import AarshjulError

if TYPE_CHECKING:
    # Alembic takes ~0.3 s to import: only ``upgrade`` (``aarshjul init``, ``run``) loads it.
    from alembic.config import Config as AlembicConfig

#: Connections kept per process (and as many again on demand).
DEFAULT_POOL_SIZE = 20

T = TypeVar("T", bound=SQLModel)


class DatabaseError(AarshjulError):
    """The database cannot be reached or is not at the expected schema."""


#: How long an SQLite writer waits for another's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_settings(wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if wal:
            # Readers never wait for the writer, nor the writer for readers.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return on_connect


def alembic_config() -> AlembicConfig:
    """An Alembic configuration pointing at the migrations shipped in this package."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    return cfg


_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(
    r"""^down_revision\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)\s*$""", re.M
)


@cache
def migration_head() -> str:
    """The newest migration's revision, which an up-to-date database is at.

    Read from the ``revision``/``down_revision`` lines of the shipped migration files,
    so the commands that only check the schema (every command but ``init`` and ``run``)
    never import Alembic. A history this cannot read as one simple chain (a merge, a
    branch, an unusual line) is left to Alembic's own ``ScriptDirectory``.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    versions = resources.files("storage") / "migrations" / "versions"
    for file in versions.iterdir():
        if not file.name.endswith(".py") or file.name.startswith("__"):
            continue
        source = file.read_text("utf-8")
        revision, parent = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(parent) != 1:
            return _alembic_head()
        revisions.add(revision[0])
        if parent[0]:
            parents.add(parent[0])
    heads = revisions - parents
    if len(heads) != 1 or not parents <= revisions:
        return _alembic_head()
    return heads.pop()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


def _current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None before the first migration), as Alembic's
    ``MigrationContext.get_current_revision`` reads it, without importing Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(rows) or None


class Database:
    """One engine and its session factory.

    Args:
        url: an async SQLAlchemy URL (``sqlite+aiosqlite:///…`` or
            ``postgresql+asyncpg://…``), as produced by the configuration.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = 30.0,
        **engine_options: Any,
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        file_db = bool(parsed.database) and parsed.database != ":memory:"
        #: The SQLite file, which connecting creates: commands that only read look first.
        self.sqlite_file: Path | None = (
            Path(str(parsed.database)).expanduser() if self.is_sqlite and file_db else None
        )
        if self.is_sqlite and file_db:
            folder = Path(str(parsed.database)).expanduser().resolve().parent
            if not folder.is_dir():
                raise DatabaseError(
                    f"database folder {folder} does not exist", key="db.no_folder", folder=folder
                )
        if file_db or not self.is_sqlite:
            # Sized for the worker's deliveries and the web handlers at once; a burst
            # beyond it waits ``pool_timeout`` for a connection rather than failing.
            engine_options.setdefault("pool_size", pool_size)
            engine_options.setdefault("max_overflow", pool_size)
            engine_options.setdefault("pool_timeout", pool_timeout)
        if not self.is_sqlite:
            engine_options.setdefault("pool_pre_ping", True)
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_settings(file_db))
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        #: One SQLite writer of this process at a time (see :meth:`transaction`).
        self._writer = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing is committed unless the caller commits."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``: it takes the single
        writer's lock first (waiting up to the busy timeout), so what it reads stays
        true until it commits — the SQLite side of :func:`lock_row`. PostgreSQL
        transactions lock the rows they change with :func:`lock_row`.
        """
        if not self.is_sqlite:
            async with self._sessions() as session, session.begin():
                yield session
            return
        # This process's writers queue here, in order, instead of all polling SQLite's
        # busy handler at once (it sleeps up to 100 ms between tries, so a burst of
        # answers would spend most of its time asleep); other processes still wait
        # on the busy timeout.
        async with self._writer, self._sessions() as session, session.begin():
            await session.execute(text("BEGIN IMMEDIATE"))
            yield session

    async def upgrade(self) -> None:
        """Create the schema or bring it to the newest migration."""

        from alembic import command

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
        except (DBAPIError, OSError) as exc:
            why = self.explain(exc)
            raise DatabaseError(
                f"cannot reach the database: {why}", key="db.unreachable", why=why
            ) from None

    async def check_schema(self) -> None:
        """Fail with a clear message unless the schema is at the newest migration.

        An SQLite file that does not exist (or is empty) is reported without opening it,
        since opening it would leave an empty ``aarshjul.db`` behind.
        """
        if self.sqlite_file is not None and not _has_content(self.sqlite_file):
            path = self.sqlite_file.resolve()
            raise DatabaseError(
                f"there is no database at {path} yet: run `aarshjul init` first",
                key="db.no_database",
                path=path,
            )

        try:
            async with self.engine.connect() as connection:
                revision = await connection.run_sync(_current_revision)
        except (DBAPIError, OSError) as exc:
            why = self.explain(exc)
            raise DatabaseError(
                f"cannot reach the database: {why}", key="db.unreachable", why=why
            ) from None
        head = migration_head()
        if revision != head:
            current = revision or "-"
            raise DatabaseError(
                "the database is not initialised or is out of date "
                f"(at {current}, need {head}): run `aarshjul init`",
                key="db.not_initialised",
                current=current,
                head=head,
            )

    def explain(self, exc: BaseException) -> str:
        """One line saying why the database failed, never with the URL's password."""
        return explain(exc, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _has_content(path: Path) -> bool:
    """Whether ``path`` is a file with something in it (an SQLite database)."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def unavailable(exc: BaseException) -> str | None:
    """Why ``exc`` means the database is unavailable (unreachable, refused, pool exhausted,
    locked past the busy timeout), or None when it is something else (a bug).

    The Slack edge logs such an error as one line and tells the user nothing was saved,
    instead of a traceback and "gemt".
    """
    if isinstance(exc, SATimeoutError):
        return "no free database connection (pool exhausted)"
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return _short(exc)
    if isinstance(exc, ConnectionError | OSError | TimeoutError):
        return _short(exc)
    return None


def explain(exc: BaseException, url: str) -> str:
    """One line saying why the database at ``url`` failed, never with its password."""
    why = _short(exc)
    try:
        password = make_url(url).password
    except Exception:  # an unparsable URL has no password to hide
        password = None
    if password:
        why = why.replace(str(password), "***")
    return why


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


async def lock_row(
    session: AsyncSession, model: type[T], row_id: Any, *, shared: bool = False
) -> T | None:
    """Load one row for a state change, locked until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE``, so a concurrent answer, move or close of the
    same hearing waits and then sees the committed state. ``shared`` takes
    ``FOR SHARE`` instead: changes that only need the row to stay as it is (answers
    to an open hearing) run side by side, while a ``FOR UPDATE`` (the close) waits
    for them and they for it. SQLite: the transaction already holds the writer's
    lock (``BEGIN IMMEDIATE`` in :meth:`Database.transaction`). The row is read
    fresh from the database either way, never from the session's cache, so the
    caller re-checks the real state.
    """
    return await session.get(
        model,
        row_id,
        with_for_update={"read": True} if shared else True,
        populate_existing=True,
    )
