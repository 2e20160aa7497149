"""The tables of recommendations (*indstillinger*) between councils, and their votes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Recommendation(SQLModel, table=True):
    """A recommendation from one council to another council or to an outside body.

    The receiver is a council of the bot (``to_council_id``: an LBR's RBR) or an e-mail
    address outside it (``to_email``: the municipal council, the state, the minister);
    exactly one of the two is set. ``state`` moves draft → agreed → sent → answered,
    each step under the row's lock (see :mod:`bot.services.recommendations`).
    """

    __table_args__ = (
        #: list --council: a council's recommendations newest first, sent or received.
        Index("ix_recommendation_from_id", "from_council_id", "id"),
        Index("ix_recommendation_to_id", "to_council_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_council_id: int = Field(foreign_key="council.id")
    to_council_id: int | None = Field(default=None, foreign_key="council.id")
    to_email: str | None = Field(default=None, max_length=254)
    title: str = Field(max_length=200)
    text: str = Field(default="", sa_type=Text)
    #: ``--about-results COUNCIL:MEASURE``: the jobcentre and measure it is about.
    about_council_id: int | None = Field(default=None, foreign_key="council.id")
    about_measure: str | None = Field(default=None, max_length=64)
    #: draft, agreed, sent or answered.
    state: str = Field(default="draft", max_length=16, index=True)
    #: The Slack trigger (or CLI call) that created it: a re-sent request finds it.
    request_key: str | None = Field(default=None, max_length=200, unique=True)
    created_by: str = Field(max_length=200)
    #: When the secretariat put the draft to a vote of the members (Slack buttons).
    vote_opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    vote_opened_by: str | None = Field(default=None, max_length=200)
    #: meeting (agreed at a meeting on ``agreed_meeting``) or vote (a quorum in Slack).
    agreed_how: str | None = Field(default=None, max_length=16)
    agreed_meeting: date | None = None
    agreed_by: str | None = Field(default=None, max_length=200)
    agreed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_by: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    answer_text: str | None = Field(default=None, sa_type=Text)
    answered_by: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecommendationVote(SQLModel, table=True):
    """One member's vote on a draft recommendation (the latest counts)."""

    __tablename__ = "recommendation_vote"
    __table_args__ = (
        UniqueConstraint("recommendation_id", "person_id", name="uq_recommendation_vote"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    #: yes or no.
    vote: str = Field(max_length=8)
    voted_at: datetime = Field(sa_type=UTCDateTime)
