"""Structured logs and Prometheus metrics.

A log line is an event name followed by ``key=value`` pairs (or one JSON object
per line with ``--log-format json``), so a delivery can be followed by its key
across workers. Metrics live in a registry of their own per application, so
tests and several apps in one process do not share counters.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one line."""
    if not logger.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
    logger.log(level, f"{event} {text}".rstrip(), extra={"event": event, "fields": fields})


def _value(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if not text or any(c in text for c in ' "=\n'):
        return json.dumps(text, ensure_ascii=False)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, message and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
            )
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Log to stderr, one line per record."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job run at INFO; its news is ours to tell.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic is imported when the schema is upgraded, after this: the plugins it sets
    # up on import are not news either (its migration lines still are).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class Metrics:
    """The application's Prometheus metrics."""

    def __init__(self) -> None:
        # Imported here: only the running bot keeps metrics, and every command that logs
        # an event (``hearing open``, ``remind plan``) imports this module.
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "aarshjul_deliveries",
            "Delivery attempts by channel and result (sent, failed, retried, skipped).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aarshjul_delivery_latency_seconds",
            "Seconds from a notification's due time to its delivery.",
            ["channel"],
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600),
            registry=self.registry,
        )
        self.backlog = Gauge(
            "aarshjul_outbox_backlog",
            "Notifications due now and not yet sent (including those being sent).",
            registry=self.registry,
        )
        self.oldest_due_age = Gauge(
            "aarshjul_outbox_oldest_due_age_seconds",
            "Age of the oldest notification due and not yet sent.",
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "aarshjul_outbox_rows", "Outbox rows by state.", ["state"], registry=self.registry
        )
