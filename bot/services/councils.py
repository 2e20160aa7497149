"""Councils: mirrored from config.toml into the database, and looked up by key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import CouncilConfig
from bot.i18n import user_error
from scheduler.errors import NotFoundError
from storage import audit
from storage.models import Council


@dataclass
class CouncilSync:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


async def sync_councils(
    session: AsyncSession,
    councils: tuple[CouncilConfig, ...],
    *,
    now: datetime,
    actor: str,
) -> CouncilSync:
    """Make the council table match config.toml.

    Councils no longer configured are deactivated, not deleted: their history
    (events, answers, audit) stays.
    """
    report = CouncilSync()
    existing = {c.key: c for c in (await session.exec(select(Council))).all()}
    # Regions first, so an LBR can point at its RBR's id.
    ordered = sorted(councils, key=lambda c: c.region is not None)
    for conf in ordered:
        region_id = existing[conf.region].id if conf.region else None
        wanted = {
            "kind": conf.kind.value,
            "name": conf.name,
            "region_id": region_id,
            "slack_channel": conf.slack_channel.lstrip("#") if conf.slack_channel else None,
            "secretariat_email": conf.secretariat_email,
            "active": True,
        }
        row = existing.get(conf.key)
        if row is None:
            row = Council(key=conf.key, created_at=now, updated_at=now, **wanted)
            session.add(row)
            await session.flush()
            existing[conf.key] = row
            report.added.append(conf.key)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="council.added",
                entity="council",
                entity_id=conf.key,
                **wanted,
            )
            continue
        changes = audit.apply_changes(row, wanted)
        if not changes:
            report.unchanged.append(conf.key)
            continue
        row.updated_at = now
        report.updated.append(conf.key)
        audit.record(
            session,
            at=now,
            actor=actor,
            action="council.updated",
            entity="council",
            entity_id=conf.key,
            changes=changes,
        )
    configured = {c.key for c in councils}
    for key, row in existing.items():
        if key not in configured and row.active:
            row.active = False
            row.updated_at = now
            report.deactivated.append(key)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="council.deactivated",
                entity="council",
                entity_id=key,
            )
    return report


async def get_council(session: AsyncSession, key: str) -> Council:
    """The active council with ``key``, or a clear error listing the known keys."""
    council = (
        await session.exec(select(Council).where(Council.key == key.strip().lower()))
    ).first()
    if council is None or not council.active:
        known = (
            await session.exec(select(Council.key).where(col(Council.active)).order_by(Council.key))
        ).all()
        raise user_error(
            NotFoundError,
            "council.unknown",
            council=key,
            known=", ".join(known) or "-",
        )
    return council


async def list_councils(session: AsyncSession) -> list[Council]:
    result = await session.exec(select(Council).where(col(Council.active)).order_by(Council.key))
    return list(result.all())
