"""Writing the audit log, inside the caller's transaction so it commits with the change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog


def _default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    **details: Any,
) -> AuditLog:
    """Add one audit entry to ``session`` (committed with the change it describes)."""
    entry = AuditLog(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        details=json.dumps(details, default=_default, ensure_ascii=False, sort_keys=True),
    )
    session.add(entry)
    return entry


def apply_changes(row: object, wanted: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the fields of ``row`` that differ from ``wanted``.

    Returns:
        ``{field: {"old": ..., "new": ...}}`` for what changed, ready for the audit log.
    """
    changes: dict[str, dict[str, Any]] = {}
    for name, new in wanted.items():
        old = getattr(row, name)
        if old != new:
            changes[name] = {"old": old, "new": new}
            setattr(row, name, new)
    return changes
