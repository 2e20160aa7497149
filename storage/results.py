"""The tables of results data (one value per jobcentre, measure and period) and of the
deviations found in them (each alerted once when it starts and once when it ends)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ResultValue(SQLModel, table=True):
    """One published figure: a jobcentre's (an LBR's) value of a measure in a period.

    ``period`` is canonical: ``2026-09`` for a month, ``2026-Q3`` for a quarter, so the
    periods of one kind sort as text.
    """

    __tablename__ = "result_value"
    __table_args__ = (
        #: Also the index of a council's figures (``results show``); the check reads
        #: every figure of the measures with a threshold, so no index of its own.
        UniqueConstraint("council_id", "measure", "period", name="uq_result_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id")
    measure: str = Field(max_length=64)
    period: str = Field(max_length=8)
    value: float
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ResultDeviation(SQLModel, table=True):
    """A jobcentre beyond its RBR's threshold for a measure, from ``since_period`` on.

    Found by the check; ``state`` is ``open`` until a check finds it over (``ended``,
    with ``ended_period``, the first period back within the threshold). The alerts'
    chart's figures are kept when the deviation is found (and when it ends), so every
    audience and every retry gets the same picture.
    """

    __tablename__ = "result_deviation"
    __table_args__ = (
        UniqueConstraint("council_id", "measure", "since_period", name="uq_result_deviation"),
        Index("ix_result_deviation_state", "state", "council_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id")
    #: The RBR whose threshold it crossed.
    region_id: int = Field(foreign_key="council.id")
    measure: str = Field(max_length=64)
    since_period: str = Field(max_length=8)
    #: The latest period checked while it held, and its figures.
    last_period: str = Field(max_length=8)
    value: float
    group_mean: float
    #: value - group mean, in the measure's unit (signed).
    difference: float
    #: The difference in percent of the group mean (signed; None when the mean is 0).
    percent: float | None = None
    periods: int
    #: The threshold as it stood when the deviation was found (config may change later):
    #: ``percent`` or ``points``, its size, and when and with whom it was agreed.
    threshold_kind: str = Field(max_length=8)
    threshold: float
    agreed_on: date | None = None
    agreed_with: str = Field(default="", max_length=200)
    state: str = Field(default="open", max_length=8)
    ended_period: str | None = Field(default=None, max_length=8)
    #: The figures of the alert's chart (JSON), drawn when the alert goes out.
    chart: str | None = Field(default=None, sa_type=Text)
    #: The same for the "it has ended" alert.
    ended_chart: str | None = Field(default=None, sa_type=Text)
    found_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
