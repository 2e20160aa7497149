"""The tables. One class per table; relationships are loaded explicitly (async)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Council(SQLModel, table=True):
    """A council (BER, RBR or LBR), mirrored from config.toml by ``aarshjul init``."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(max_length=8)
    name: str = Field(max_length=200)
    region_id: int | None = Field(default=None, foreign_key="council.id")
    slack_channel: str | None = Field(default=None, max_length=80)
    secretariat_email: str | None = Field(default=None, max_length=254)
    #: False once the council is no longer in config.toml (history is kept).
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Person(SQLModel, table=True):
    """A human being, identified by e-mail; may sit on several councils."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    #: Stored lower-case, so lookups are case-insensitive on every database.
    email: str = Field(max_length=254, unique=True, index=True)
    slack_id: str | None = Field(default=None, max_length=32, index=True)
    #: "da" or "en"; None means the configured default.
    language: str | None = Field(default=None, max_length=2)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    """A person's seat on one council: role and nominating organisation."""

    __table_args__ = (UniqueConstraint("person_id", "council_id", name="uq_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    council_id: int = Field(foreign_key="council.id", index=True)
    role: str = Field(max_length=16)
    organisation: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CycleEvent(SQLModel, table=True):
    """One dated event of one council's year, instantiated from the template.

    ``computed_date`` is what the template rule gives; ``date`` is what holds.
    ``override_*`` is set when a secretary moved this very event; events derived
    from it follow it and have a changed ``date`` but no override of their own.
    ``sequence`` rises on every change so calendar clients update their copy.
    """

    __tablename__ = "cycle_event"
    __table_args__ = (
        UniqueConstraint("council_id", "year", "template_key", name="uq_cycle_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id", index=True)
    year: int = Field(index=True)
    template_key: str = Field(max_length=64)
    type: str = Field(max_length=16)
    owner: str = Field(max_length=16)
    title_da: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    date: date
    computed_date: date
    status: str = Field(default="planned", max_length=16)
    override_date: date | None = None
    override_by: str | None = Field(default=None, max_length=200)
    override_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    override_reason: str | None = Field(default=None, sa_type=Text)
    sequence: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """Who changed what, when and why; append-only."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    #: JSON object with the before/after values.
    details: str = Field(default="{}", sa_type=Text)
