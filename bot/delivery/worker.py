"""The outbox worker: claims due rows, delivers them, records what happened.

The worker does not know what a reminder is or which channel is which: it asks
the renderer for the words and the row's channel to deliver them. It is the
edge where delivery errors are caught, so one bad row never stops a batch.
A row is delivered at most once per claim; only a row whose worker died
while it was in flight can reach its recipient twice, and the worker that
reclaims it says so in the log.

Each outcome is committed moments after its send returns (group commit, see
:mod:`bot.delivery.recorder`), so a kill repeats at most the rows in flight.
Each worker publishes a heartbeat (its row in the ``worker`` table): its rows
are taken over once the heartbeat is ``worker_timeout`` old, or at once when its
process is gone from this host, and never while it is alive, however slow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.base import Channel, Message, PermanentDeliveryError, TemporaryDeliveryError
from bot.delivery.identity import default_worker_id, pid_alive
from bot.delivery.outcomes import Outcomes, WorkerSettings
from bot.delivery.recorder import OutcomeRecorder
from bot.delivery.render import Renderer
from bot.observability import Metrics, log_event
from scheduler.clock import Clock, local_today
from scheduler.planner import SendWindow
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, Person

log = logging.getLogger("aarshjul.delivery")

#: Told that a row went out: (database, row, external id, channel).
AfterSent = Callable[[Database, OutboxMessage, str, Channel], Awaitable[None]]
#: A check run at delivery for rows with a ``condition`` (escalations).
Condition = Callable[[AsyncSession, OutboxMessage], Awaitable[bool]]


@dataclass(frozen=True)
class _Batch:
    """Claimed rows, and the task that renews their lease until ``done`` is set."""

    rows: list[OutboxMessage]
    done: asyncio.Event
    keeper: asyncio.Task[None]


@dataclass
class RunReport:
    """What one or more batches did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    reclaimed: list[outbox.Reclaimed] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        self.reclaimed.extend(other.reclaimed)


class OutboxWorker:
    """Drives the channels from the outbox.

    Args:
        db: the database (source of truth).
        channels: channel name (``slack``, ``email``) → channel; rows for a
            channel that is not here stay pending (e.g. Slack without a token).
        window: working hours; scheduled rows wait outside them.
        conditions: escalation checks by name.
    """

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        renderer: Renderer,
        window: SendWindow,
        *,
        worker_id: str | None = None,
        settings: WorkerSettings | None = None,
        conditions: Mapping[str, Condition] | None = None,
        metrics: Metrics | None = None,
        after_sent: Mapping[str, AfterSent] | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self.renderer = renderer
        self.window = window
        self.worker_id = worker_id or default_worker_id()
        self.settings = settings or WorkerSettings()
        self.conditions = dict(conditions or {})
        self.after_sent = dict(after_sent or {})
        self.metrics = metrics
        self.outcomes = Outcomes(self.settings, clock, metrics)
        self._lock = asyncio.Lock()
        self._used: set[str] = set()
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self._beating: asyncio.Task[None] | None = None
        self._stop_beating = asyncio.Event()

    async def beat(self) -> None:
        """Publish this worker's heartbeat now (creating its row on the first beat)."""
        async with self.db.transaction() as session:
            await outbox.heartbeat(
                session, worker=self.worker_id, host=self.host, pid=self.pid, now=self.clock.now()
            )

    async def start(self) -> None:
        """Publish the heartbeat and keep renewing it every ``settings.heartbeat``."""
        await self.beat()
        if self._beating is None:
            self._stop_beating.clear()
            self._beating = asyncio.create_task(self._keep_beating(), name="worker-heartbeat")
        log_event(log, "worker-started", worker=self.worker_id, pid=self.pid)

    async def stop(self) -> None:
        """Stop the heartbeat and remove this worker's row (a clean shutdown)."""
        if self._beating is not None:
            # Stopped by an event, never by cancel(): a cancelled database call can
            # leave its connection stuck.
            self._stop_beating.set()
            await self._beating
            self._beating = None
        try:
            async with self.db.transaction() as session:
                await outbox.forget_workers(session, [self.worker_id])
        except Exception:
            log.exception("could not remove worker %s", self.worker_id)

    async def _keep_beating(self) -> None:
        interval = self.settings.heartbeat.total_seconds()
        while True:
            try:
                await asyncio.wait_for(self._stop_beating.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                await self.beat()
            except Exception:
                log.exception("could not renew the heartbeat of worker %s", self.worker_id)

    def _dead_here(self, known: list[outbox.WorkerInfo]) -> list[str]:
        """Workers of this host whose process is gone (or whose pid is now ours)."""
        return [
            w.id
            for w in known
            if w.host == self.host
            and w.id != self.worker_id
            and (w.pid == self.pid or not pid_alive(w.pid))
        ]

    async def housekeeping(self) -> RunReport:
        """Reclaim rows of dead workers (and our own left unrecorded); skip stale and
        superseded rows. Called between batches, never during one of ours."""
        report = RunReport()
        now = self.clock.now()
        timeout = self.settings.worker_timeout
        async with self.db.transaction() as session:
            known = await outbox.workers(session)
            dead = self._dead_here(known)
            dead += [
                w.id
                for w in known
                if w.last_seen < now - timeout and w.id not in dead and w.id != self.worker_id
            ]
            # Rows still ``sending`` under our own id are from a batch whose outcomes
            # could not be recorded (no batch of ours runs during housekeeping).
            report.reclaimed = await outbox.reclaim_expired(
                session, now=now, worker_timeout=timeout, dead=[*dead, self.worker_id]
            )
            await outbox.forget_workers(session, dead)
            stale = await outbox.skip_stale(session, now=now)
            superseded = await outbox.skip_superseded(session, now=now)
        for r in report.reclaimed:
            log_event(
                log,
                "reclaimed",
                logging.WARNING,
                id=r.id,
                key=r.key,
                previous_worker=r.claimed_by or "-",
                note="in flight when its worker stopped; may be delivered twice",
            )
        for row_id, key in stale + superseded:
            reason = "stale" if (row_id, key) in stale else "superseded"
            log_event(log, "delivery", id=row_id, key=key, result="skipped", reason=reason)
            if self.metrics:
                self.metrics.deliveries.labels(channel="-", result="skipped").inc()
        report.skipped = len(stale) + len(superseded)
        return report

    async def run_batch(self) -> RunReport:
        """Claim one batch of due rows and deliver it."""
        async with self._recorder() as recorder:
            batch = await self._claim_batch()
            if batch is None:
                return RunReport()
            return await self._deliver_batch(batch, recorder, self._limits())

    def _recorder(self) -> OutcomeRecorder:
        return OutcomeRecorder(
            self.db,
            worker=self.worker_id,
            now=self.clock.now,
            extra=self._save_dm_channels,
            max_batch=self.settings.record_batch,
            enough=self.settings.concurrency,
        )

    def _limits(self) -> dict[str, asyncio.Semaphore]:
        """One slot per delivery in flight, ``concurrency`` per channel."""
        return {name: asyncio.Semaphore(self.settings.concurrency) for name in self.channels}

    async def _claim_batch(self) -> _Batch | None:
        """Claim up to ``batch_size`` due rows and start renewing their lease."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = await outbox.claim(
                session,
                worker=self.worker_id,
                now=now,
                lease=self.settings.lease,
                limit=self.settings.batch_size,
                channels=list(self.channels),
                quiet_allowed=self.window.allows(now),
            )
        if not rows:
            return None
        # Renewing the lease is stopped by an event, never by cancel(): a
        # cancelled database call can leave its connection stuck.
        done = asyncio.Event()
        keeper = asyncio.create_task(
            self._keep_lease([r.id for r in rows if r.id is not None], done)
        )
        return _Batch(rows, done, keeper)

    async def _deliver_batch(
        self, batch: _Batch, recorder: OutcomeRecorder, limits: Mapping[str, asyncio.Semaphore]
    ) -> RunReport:
        """Deliver a claimed batch; returns once every outcome is committed."""
        report = RunReport(claimed=len(batch.rows))
        try:
            outcomes = await self._deliver_all(batch.rows, recorder, limits)
        finally:
            batch.done.set()
            await batch.keeper
        for o in outcomes:
            if o.state == outbox.SENT:
                report.sent += 1
            elif o.state == outbox.PENDING:
                report.retried += 1
            elif o.state == outbox.FAILED:
                report.failed += 1
            else:
                report.skipped += 1
        self._used.update(r.channel for r in batch.rows)
        return report

    async def _keep_lease(self, ids: list[int], done: asyncio.Event) -> None:
        """Renew the lease while a slow batch (rate limits, a slow server) is delivered,
        so no other worker takes these rows over while this one is alive."""
        interval = max(0.2, self.settings.lease.total_seconds() / 3)
        while True:
            try:
                await asyncio.wait_for(done.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                async with self.db.transaction() as session:
                    await outbox.extend_lease(
                        session,
                        ids,
                        worker=self.worker_id,
                        until=self.clock.now() + self.settings.lease,
                    )
            except Exception:
                log.exception("could not renew the lease of %d rows", len(ids))

    async def drain(self) -> RunReport:
        """Housekeeping, then batches until nothing is claimable now.

        The next batch is claimed and rendered while the one before it is being
        delivered, and its rows take the slots as the earlier ones free them: the
        sends never wait for a claim's round trip or a batch's last stragglers. At
        most two batches are held at once, and the slots (``concurrency`` per
        channel) are shared, so a kill still repeats at most what was in flight.
        """
        async with self._lock:
            report = await self.housekeeping()
            try:
                report.add(await self._pipeline())
            finally:
                # Connections stay open across the batches of one run, then close:
                # the next run may be hours away.
                for name in sorted(self._used):
                    await self.channels[name].end_batch()
                self._used.clear()
            return report

    async def _pipeline(self) -> RunReport:
        report = RunReport()
        limits = self._limits()
        running: deque[asyncio.Task[RunReport]] = deque()
        async with self._recorder() as recorder:
            try:
                while True:
                    batch = await self._claim_batch()
                    if batch is not None:
                        running.append(
                            asyncio.create_task(self._deliver_batch(batch, recorder, limits))
                        )
                    if batch is None or len(batch.rows) < self.settings.batch_size:
                        break
                    if len(running) == 2:
                        # The older batch first: then the next claim, while the newer
                        # one is being delivered.
                        report.add(await running.popleft())
            finally:
                # Every delivery ends before this returns, even after an error: the
                # next run takes this worker's unrecorded rows back (see housekeeping).
                results = await asyncio.gather(*running, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            report.add(result)
        return report

    async def wait_idle(self) -> None:
        """Return once a run in hand has delivered and recorded its batch."""
        async with self._lock:
            return

    async def next_wakeup(self) -> datetime | None:
        """When the next row becomes claimable, moved out of quiet hours if it waits for them."""
        async with self.db.session() as session:
            loud, quiet, lease = await outbox.next_due_split(
                session, channels=list(self.channels), worker_timeout=self.settings.worker_timeout
            )
        found = [v for v in (loud, lease) if v is not None]
        if quiet is not None:
            # An overdue scheduled row waits for the next allowed minute from now.
            found.append(self.window.next_allowed(max(quiet, self.clock.now())))
        return min(found) if found else None

    async def _deliver_all(
        self,
        rows: list[OutboxMessage],
        recorder: OutcomeRecorder,
        limits: Mapping[str, asyncio.Semaphore],
    ) -> list[outbox.Outcome]:
        today = local_today(self.clock, self.window.tz)
        prepared: list[tuple[OutboxMessage, Message | None, outbox.Outcome | None]] = []
        async with self.db.session() as session:
            for row in rows:
                prepared.append(await self._prepare(session, row, today))
        # Rows settled without a send (condition false, cannot render) go first.
        settled = [recorder.submit(o) for _, _, o in prepared if o is not None]

        async def one(row: OutboxMessage, message: Message) -> outbox.Outcome:
            # The slot is held until the outcome is committed: a row is in flight
            # from its send until then, and at most ``concurrency`` rows per channel are.
            async with limits[row.channel]:
                recorder.begin()
                try:
                    outcome = await self._deliver(row, message)
                except BaseException:
                    recorder.abandon()
                    raise
                await recorder.record(outcome)
                return outcome

        pending = [one(r, m) for r, m, o in prepared if m is not None and o is None]
        # Every delivery ends before this returns, even when one could not be recorded:
        # the next run takes this worker's unrecorded rows back (see housekeeping).
        results = await asyncio.gather(*pending, *settled, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        delivered = iter([r for r in results[: len(pending)] if isinstance(r, outbox.Outcome)])
        return [o if o is not None else next(delivered) for _, _, o in prepared]

    async def _prepare(
        self, session: AsyncSession, row: OutboxMessage, today: date
    ) -> tuple[OutboxMessage, Message | None, outbox.Outcome | None]:
        assert row.id is not None
        if row.condition:
            check = self.conditions.get(row.condition)
            if check is None:
                return (
                    row,
                    None,
                    self.outcomes.finish(
                        row, outbox.FAILED, f"unknown condition {row.condition!r}"
                    ),
                )
            try:
                holds = await check(session, row)
            except Exception as exc:
                log.exception("condition %s failed for outbox row %s", row.condition, row.id)
                return (
                    row,
                    None,
                    self.outcomes.retry_or_fail(row, f"condition check failed: {exc}", None),
                )
            if not holds:
                return (
                    row,
                    None,
                    self.outcomes.finish(
                        row, outbox.SKIPPED, f"condition {row.condition} does not hold"
                    ),
                )
        try:
            message = await self.renderer.render(session, row, today)
        except Exception as exc:
            log.exception("cannot render outbox row %s (%s)", row.id, row.key)
            failed = self.outcomes.finish(
                row, outbox.FAILED, f"cannot render: {exc!r}", external_id=row.external_id
            )
            return row, None, failed
        return row, message, None

    async def _deliver(self, row: OutboxMessage, message: Message) -> outbox.Outcome:
        channel = self.channels[row.channel]
        if row.external_id:
            # An earlier attempt delivered part of it (a summary before its file):
            # the channel goes on from there.
            message = replace(message, progress=row.external_id)
        try:
            external_id = await channel.send(message)
        except TemporaryDeliveryError as exc:
            return self.outcomes.retry_or_fail(row, str(exc), exc.retry_after, exc.progress)
        except PermanentDeliveryError as exc:
            progress = exc.progress or row.external_id
            return self.outcomes.finish(row, outbox.FAILED, str(exc), external_id=progress)
        except Exception as exc:
            # A bug in a channel must not stop the batch; the row is retried.
            log.exception("channel %s raised on outbox row %s", row.channel, row.id)
            return self.outcomes.retry_or_fail(row, f"{type(exc).__name__}: {exc}", None)
        await self._after_sent(row, external_id, channel)
        latency = (self.clock.now() - row.due_at).total_seconds()
        if self.metrics:
            self.metrics.latency.labels(channel=row.channel).observe(max(0.0, latency))
        return self.outcomes.finish(
            row, outbox.SENT, None, external_id=external_id, latency=latency
        )

    async def _after_sent(self, row: OutboxMessage, external_id: str, channel: Channel) -> None:
        """Let the feature that queued the row note that it went (never fails the row)."""
        if not self.after_sent:
            return
        name = str(json.loads(row.payload or "{}").get("message", ""))
        hook = self.after_sent.get(name)
        if hook is None:
            return
        try:
            await hook(self.db, row, external_id, channel)
        except Exception:
            log.exception("after-sent hook %s failed for outbox row %s", name, row.id)

    async def _save_dm_channels(self, session: AsyncSession | AsyncConnection) -> None:
        slack = self.channels.get("slack")
        fresh: dict[str, str] = getattr(slack, "new_dm_channels", {}) if slack else {}
        # Taken out before the awaits: deliveries go on meanwhile and add channels for
        # the next commit. (A commit that fails loses them: Slack is asked again.)
        learnt = list(fresh.items())
        for user, _ in learnt:
            del fresh[user]
        if learnt:
            people = Person.__table__
            await session.execute(
                update(people)
                .where(people.c.slack_id == bindparam("user"))
                .values(slack_dm_channel=bindparam("dm")),
                [{"user": user, "dm": dm} for user, dm in learnt],
            )
