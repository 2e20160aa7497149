"""Tables of the web pages (issue 15): one-time sign-in links sent by e-mail.

Sessions themselves are signed cookies and need no table; a sign-in link is a row so
that it can be used once only, whichever replica serves it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link: valid for 15 minutes, used at most once.

    Only the SHA-256 of the link's secret is stored, so a copy of the database opens
    no session.
    """

    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    #: Where to go after signing in (a path on this site only).
    next_path: str = Field(default="/", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
