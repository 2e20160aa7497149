"""The tables of meeting agendas: one agenda per meeting, its items in order.

An item is either typed by a secretariat (an item, or the region's remark to an LBR)
or taken from what is due (a deviation alert, a recommendation, a hearing, a cycle
deadline; ``source`` names it, e.g. ``hearing:12``, so assembling the agenda again
never adds it twice). A remark for a council's next meeting made while no meeting
is planned waits with ``meeting_id`` empty and joins the next meeting's agenda.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Agenda(SQLModel, table=True):
    """A meeting's agenda. ``version`` rises on every change; ``sent_version`` is the
    version last sent to the invitees (None: not sent yet)."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    council_id: int = Field(foreign_key="council.id", index=True)
    version: int = 1
    sent_version: int | None = None
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AgendaItem(SQLModel, table=True):
    """One item of a meeting's agenda (or a remark waiting for the next meeting).

    ``state``: ``open`` (on the agenda), ``done`` (dealt with at the meeting),
    ``dropped`` (removed by the secretariat; kept so that assembling again does not
    bring it back) or ``carried`` (not dealt with; a copy is on the next meeting's
    agenda, ``carried_from`` of the copy naming this item's meeting).
    """

    __tablename__ = "agenda_item"
    __table_args__ = (
        UniqueConstraint("meeting_id", "source", name="uq_agenda_item_source"),
        #: The agenda in order, and a council's waiting remarks.
        Index("ix_agenda_item_meeting_position", "meeting_id", "position"),
        Index("ix_agenda_item_council_state", "council_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id")
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    position: int = 0
    #: item, remark, deviation, recommendation, hearing or deadline.
    kind: str = Field(max_length=16)
    #: What the item was taken from (``hearing:12``); None for one typed by hand.
    source: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=200)
    text: str = Field(default="", sa_type=Text)
    #: The council whose secretariat wrote it (the region, for a remark).
    by_council_id: int | None = Field(default=None, foreign_key="council.id")
    state: str = Field(default="open", max_length=16)
    carried_from: int | None = Field(default=None, foreign_key="meeting.id")
    created_by: str = Field(max_length=200)
    done_by: str | None = Field(default=None, max_length=200)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
