"""Group commit of delivery outcomes: each one is in the database moments after its send.

A worker that recorded a whole batch at its end re-sent everything it had delivered
in that batch when it was killed. Here every finished delivery hands its outcome to
one :class:`OutcomeRecorder`, which writes what has accumulated in one transaction
(one ``executemany`` UPDATE, as :func:`storage.outbox.record`): as soon as every
delivery in progress has handed in its outcome, or ``enough`` outcomes wait, or the
first has waited ``linger`` seconds, whichever comes first. A delivery waits for
the commit that holds its outcome before it gives up its slot, so the rows a SIGKILL
can repeat are only those in flight: at most the worker's concurrency per channel.
Commits are few (one per round of deliveries, not one per delivery), which keeps
the worker as fast as a bare send loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import outbox
from storage.db import Database

log = logging.getLogger("aarshjul.delivery")

#: More work for the same transaction (the Slack DM channels learnt meanwhile).
Extra = Callable[[AsyncConnection], Awaitable[None]]


class OutcomeRecorder:
    """Writes outcomes in group commits while a batch is being delivered.

    Use as ``async with OutcomeRecorder(...) as recorder:``; leaving the block
    writes what is left. :meth:`record` returns once its outcome is committed.

    Args:
        db: the database.
        worker: the worker id that holds the rows (only its rows are updated).
        now: the clock's ``now`` (the time stored with each outcome).
        extra: called in every commit, before the outcomes are written (in the same
            transaction on SQLite; on PostgreSQL, whose recorder connection autocommits,
            as a statement of its own).
        max_batch: most outcomes in one commit.
        enough: this many outcomes waiting start a commit at once (the worker says
            its concurrency: a round of one channel, not held up by a slower channel).
        linger: the longest an outcome waits for others before its commit starts.
        attempts: tries of one commit before its outcomes' waiters get the error.
    """

    def __init__(
        self,
        db: Database,
        *,
        worker: str,
        now: Callable[[], datetime],
        extra: Extra | None = None,
        max_batch: int = 200,
        enough: int | None = None,
        linger: float = 0.1,
        attempts: int = 5,
    ) -> None:
        self.db = db
        self.worker = worker
        self.now = now
        self.extra = extra
        self.max_batch = max_batch
        self.enough = min(enough or max_batch, max_batch)
        self.linger = linger
        self.attempts = attempts
        #: Commits made, and outcomes written (for tests and the benchmark).
        self.commits = 0
        self.written = 0
        self._waiting: list[tuple[outbox.Outcome, asyncio.Future[None]]] = []
        self._more = asyncio.Event()
        self._closing = False
        #: Deliveries begun whose outcome has not been handed in yet.
        self._active = 0
        self._task: asyncio.Task[None] | None = None
        #: One connection kept for the recorder's commits: no pool check-out (and its
        #: ping) per commit, which a delivery waits for.
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> OutcomeRecorder:
        self._task = asyncio.create_task(self._run(), name=f"outcome-recorder {self.worker}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Write what is waiting, then stop."""
        self._closing = True
        self._more.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._drop_connection()

    async def _connect(self) -> AsyncConnection:
        """The recorder's own connection, committing without waiting for the disk.

        An outcome must survive a crash of the bot (a SIGKILL mid-batch), which a commit
        handed to the database server does; waiting for the server's fsync as well would
        hold every delivery slot for a disk flush per round. So this connection alone
        commits asynchronously (PostgreSQL ``synchronous_commit = off``; SQLite in WAL
        mode ``synchronous = NORMAL``): only a crash of the database server or its machine
        can lose the last moments of outcomes, whose rows would then be sent again.
        """
        conn = await self.db.engine.connect()
        if self.db.is_sqlite:
            await conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
        else:
            # No BEGIN and COMMIT round trips around each commit's statement: asyncpg
            # sends an executemany as one pipeline that PostgreSQL runs as one implicit
            # transaction (all outcomes or none); the Slack DM channels learnt (``extra``)
            # go before it as a statement of their own.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("SET synchronous_commit = off")
        await conn.commit()
        return conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                # Discarded, not returned to the pool: its asynchronous-commit setting
                # must not reach the answers and closes that would get it next.
                await conn.invalidate()
                await conn.close()
            except Exception:
                log.warning("closing the recorder's connection failed", exc_info=True)

    def submit(self, outcome: outbox.Outcome) -> asyncio.Future[None]:
        """Queue an outcome; the future is done once it is committed (or failed to be)."""
        if self._closing:
            raise RuntimeError("the recorder is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        self._more.set()
        return future

    def begin(self) -> None:
        """A delivery starts: a commit waits (up to ``linger``) for its outcome too."""
        self._active += 1

    def abandon(self) -> None:
        """A begun delivery will hand in no outcome."""
        self._active = max(0, self._active - 1)
        self._more.set()

    async def record(self, outcome: outbox.Outcome) -> None:
        """Hand in a begun delivery's outcome; returns once it is committed, raises if it
        cannot be."""
        self._active = max(0, self._active - 1)
        await self.submit(outcome)

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                if self._closing:
                    return
                self._more.clear()
                await self._more.wait()
                continue
            await self._gather()
            batch = self._waiting[: self.max_batch]
            del self._waiting[: len(batch)]
            error = await self._commit([o for o, _ in batch])
            for _, future in batch:
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

    async def _gather(self) -> None:
        """Wait until everyone in progress has handed in, ``enough`` wait, or ``linger``."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.linger
        while self._active > 0 and len(self._waiting) < self.enough and not self._closing:
            left = until - loop.time()
            if left <= 0:
                return
            self._more.clear()
            try:
                await asyncio.wait_for(self._more.wait(), left)
            except TimeoutError:
                return

    async def _commit(self, outcomes: list[outbox.Outcome]) -> BaseException | None:
        """One transaction for these outcomes, tried again a few times (the sends happened:
        losing their outcomes would send them again)."""
        delay = 0.1
        for attempt in range(1, self.attempts + 1):
            try:
                if self._conn is None:
                    self._conn = await self._connect()
                # On SQLite this process's writers queue on the database's lock (as
                # Database.transaction does): the next batch's claim runs while this
                # batch is delivered, and a commit that met it in SQLite's busy handler
                # would sleep (1 ms, 2, 5, …) with every delivery slot waiting on it.
                async with self._writer():
                    await self._write(outcomes)
            except Exception as exc:
                await self._drop_connection()  # perhaps broken: the next try takes a fresh one
                if attempt == self.attempts:
                    log.exception("could not record %d delivery outcomes", len(outcomes))
                    return exc
                log.warning(
                    "recording %d delivery outcomes failed (attempt %d): %s",
                    len(outcomes),
                    attempt,
                    exc,
                )
                await asyncio.sleep(delay)
                delay *= 2
                continue
            self.commits += 1
            self.written += len(outcomes)
            return None
        return None  # pragma: no cover - the loop returns

    def _writer(self) -> contextlib.AbstractAsyncContextManager[object]:
        lock = getattr(self.db, "_writer", None) if self.db.is_sqlite else None
        return lock if lock is not None else contextlib.nullcontext()

    async def _write(self, outcomes: list[outbox.Outcome]) -> None:
        assert self._conn is not None
        # The first statement writes, so on SQLite the writer's lock is taken
        # (waiting the busy timeout) before anything is read. ``extra`` goes first: on
        # PostgreSQL it is a statement of its own, and a kill between the two must not
        # leave rows recorded as sent whose DM channels were never stored.
        async with self._conn.begin():
            if self.extra is not None:
                await self.extra(self._conn)
            await outbox.record(self._conn, outcomes, worker=self.worker, now=self.now())
