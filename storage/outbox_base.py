"""What the outbox's modules share: the states of a row (see :mod:`storage.outbox` for its
life) and the dialect's INSERT."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
STATES = (PENDING, SENDING, SENT, FAILED, SKIPPED)


def insert_into(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT (both have ON CONFLICT)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)
