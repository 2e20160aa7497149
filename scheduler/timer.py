"""The timer: APScheduler 3.11 waking the outbox worker, and nothing more.

Jobs live in memory and are never pickled to a job store: the database's outbox
is the truth, and a restart rebuilds the three jobs from it. They are

* ``outbox-wake``: a one-off at the next due time, replaced after every run and
  on every :meth:`Timer.poke` (a plan changed in this process);
* ``outbox-sweep``: every ``sweep_seconds``, the safety net that also picks up
  rows written by other processes (the CLI, another replica);
* ``daily-plan``: once a day, the re-plan (digests, failure reports).

Every job has a fixed id, so scheduling it again replaces it. Jobs run late
rather than never (``misfire_grace_time=None``): after a pause the sweep
catches up from the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("aarshjul.timer")

WAKE, SWEEP, DAILY = "outbox-wake", "outbox-sweep", "daily-plan"

#: Runs due work; returns when it next has work (None: nothing planned).
Wake = Callable[[], Awaitable[datetime | None]]


class Timer:
    """Owns the :class:`AsyncIOScheduler`; start it inside the running event loop.

    Args:
        wake: delivers what is due and returns the next due instant.
        daily: the daily re-plan.
        now: the clock (UTC instants), used to keep wake-ups from lying in the past.
    """

    #: Seconds within which the next due time is waited for in the running wake-up.
    NEAR = 1.0

    def __init__(
        self,
        *,
        wake: Wake,
        daily: Callable[[], Awaitable[None]],
        tz: tzinfo,
        now: Callable[[], datetime],
        sweep_seconds: float = 30,
        daily_at: time = time(6, 0),
    ) -> None:
        self._wake = wake
        self._daily = daily
        self._now = now
        self._sweep_seconds = sweep_seconds
        self._daily_at = daily_at
        self._tz = tz
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.next_wake: datetime | None = None
        self._waking = False
        self._again = False
        # Our own flag: APScheduler 3.11 defers the real shutdown to the event loop, so
        # ``scheduler.running`` is still True right after the first ``shutdown()``.
        self._stopped = False
        # The wake-up or re-plan in progress: APScheduler's shutdown cancels running
        # jobs, so the work runs in tasks of ours that it cannot reach (see _owned).
        self._tasks: set[asyncio.Future[None]] = set()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self._wake_job,
            IntervalTrigger(seconds=self._sweep_seconds, timezone=self._tz),
            id=SWEEP,
            replace_existing=True,
        )
        self._scheduler.add_job(
            self._daily_job,
            CronTrigger(hour=self._daily_at.hour, minute=self._daily_at.minute, timezone=self._tz),
            id=DAILY,
            replace_existing=True,
        )
        self.poke()

    def poke(self, at: datetime | None = None) -> None:
        """Wake the worker at ``at`` (now when None or in the past)."""
        if self._stopped:
            return  # a wake-up that ends after the shutdown schedules nothing
        now = self._now()
        when = now if at is None or at < now else at
        if self._waking and when <= now + timedelta(seconds=self.NEAR):
            # A wake-up is running: it looks again before it ends (APScheduler
            # would skip a second instance of the job).
            self._again = True
            return
        self.next_wake = when
        self._scheduler.add_job(
            self._wake_job,
            DateTrigger(run_date=when.astimezone(UTC)),
            id=WAKE,
            replace_existing=True,
        )

    async def _owned(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` in a task the timer owns and wait for it through a shield.

        APScheduler 3.11's shutdown cancels the jobs still running, which would stop a
        delivery in the middle of a database call (and log the CancelledError as a job
        error); the work finishes instead, and :meth:`wait_idle` waits for it.
        """
        if self._stopped:
            return
        task = asyncio.ensure_future(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not self._stopped:
                raise
            # Cancelled by the scheduler's shutdown: the task goes on, wait_idle awaits it.

    async def _wake_job(self) -> None:
        await self._owned(self._run_wake)

    async def _daily_job(self) -> None:
        await self._owned(self._run_daily)

    async def wait_idle(self) -> None:
        """Return once the wake-up or re-plan in progress at the shutdown has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run_wake(self) -> None:
        if self._waking:
            self._again = True
            return
        self._waking = True
        upcoming: datetime | None = None
        try:
            while not self._stopped:
                self._again = False
                try:
                    upcoming = await self._wake()
                except Exception:
                    # The sweep tries again; the error must not kill the scheduler.
                    log.exception("outbox wake-up failed")
                    return
                if self._again:
                    continue
                if upcoming is None:
                    return
                wait = (upcoming - self._now()).total_seconds()
                if wait > self.NEAR:
                    break
                # Due within the second: wait here rather than through a job,
                # which APScheduler would skip while this one still runs.
                await asyncio.sleep(max(0.0, wait))
        finally:
            self._waking = False
        self.poke(upcoming)

    async def _run_daily(self) -> None:
        try:
            await self._daily()
        except Exception:
            log.exception("daily re-plan failed")
        self.poke()

    def jobs(self) -> dict[str, datetime | None]:
        """Job id → next run time, for /healthz and tests."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def shutdown(self) -> None:
        """Stop the scheduler; a second call (the exit stack after a clean stop) does
        nothing, where APScheduler would log ``SchedulerNotRunningError`` from the loop."""
        if self._stopped:
            return
        self._stopped = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
