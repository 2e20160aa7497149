"""How one delivery attempt ends: sent, back to pending with a backoff, or failed.

The worker hands each channel's answer here; this is where the retry policy
(``WorkerSettings``: attempts, exponential backoff with jitter, a server's own
``Retry-After``), the delivery log line and the delivery metrics live, so the worker
itself only moves rows.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.observability import Metrics, log_event
from scheduler.clock import Clock
from storage import outbox
from storage.models import OutboxMessage

log = logging.getLogger("aarshjul.delivery")


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int = 100
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)
    #: Deliveries in flight at once per channel.
    concurrency: int = 16
    #: How often a running worker renews its heartbeat.
    heartbeat: timedelta = timedelta(seconds=5)
    #: A worker whose heartbeat is this old is dead and its rows are taken over.
    worker_timeout: timedelta = timedelta(seconds=30)
    #: Most outcomes written in one commit.
    record_batch: int = 200


class Outcomes:
    """Turns a channel's answer for a row into the row's next state."""

    def __init__(self, settings: WorkerSettings, clock: Clock, metrics: Metrics | None) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics

    def retry_or_fail(
        self,
        row: OutboxMessage,
        error: str,
        retry_after: float | None,
        progress: str | None = None,
    ) -> outbox.Outcome:
        """Back to pending with a backoff (or failed after the last attempt); ``progress``
        (what already reached the recipient, by default what the row holds) stays on
        the row as its external id."""
        progress = progress or row.external_id
        if row.attempts >= self.settings.max_attempts:
            return self.finish(
                row,
                outbox.FAILED,
                f"gave up after {row.attempts} attempts: {error}",
                external_id=progress,
            )
        if retry_after is not None:
            delay = timedelta(seconds=retry_after)
        else:
            base = self.settings.backoff_base * (2 ** (row.attempts - 1))
            delay = min(base, self.settings.backoff_cap) * (0.5 + random.random())
        due = self.clock.now() + delay
        return self.finish(
            row,
            outbox.PENDING,
            error,
            external_id=progress,
            due_at=due,
            retry_in=delay.total_seconds(),
        )

    def finish(
        self,
        row: OutboxMessage,
        state: str,
        error: str | None,
        *,
        external_id: str | None = None,
        due_at: datetime | None = None,
        latency: float | None = None,
        retry_in: float | None = None,
    ) -> outbox.Outcome:
        result = "retried" if state == outbox.PENDING else state
        fields: dict[str, object] = {
            "id": row.id,
            "key": row.key,
            "channel": row.channel,
            "attempt": row.attempts,
            "result": result,
        }
        if external_id:
            fields["external_id"] = external_id
        if latency is not None:
            fields["latency_s"] = round(latency, 3)
        if retry_in is not None:
            fields["retry_in_s"] = round(retry_in, 1)
        if error:
            fields["error"] = error
        level = logging.WARNING if state == outbox.FAILED else logging.INFO
        log_event(log, "delivery", level, **fields)
        if self.metrics:
            self.metrics.deliveries.labels(channel=row.channel, result=result).inc()
        assert row.id is not None
        return outbox.Outcome(row.id, state, error, external_id, due_at)
