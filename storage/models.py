"""The tables. One class per table; relationships are loaded explicitly (async)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
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
    #: The secret in the council's calendar-feed URL; rotated by the CLI.
    calendar_token: str | None = Field(default=None, max_length=64)
    #: The secret in an RBR's read-only overview link (a wall display); rotated by the CLI.
    overview_token: str | None = Field(default=None, max_length=64)
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
    #: How the person wants reminders: auto (Slack if known, else e-mail), slack,
    #: email, both or none.
    notify: str = Field(default="auto", max_length=8)
    #: Opted in to the Monday digest of the coming deadlines.
    digest: bool = False
    #: The bot's DM channel with this person, cached after ``conversations.open``.
    slack_dm_channel: str | None = Field(default=None, max_length=32)
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
        #: App Home and the digests: a council's coming events by date.
        Index("ix_cycle_event_council_date", "council_id", "date"),
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


class OutboxMessage(SQLModel, table=True):
    """One notification to one recipient over one channel: the outbox row.

    ``key`` is the idempotency key (what, to whom, which channel, which slot):
    planning the same notification twice finds the existing row. ``group_key``
    is the same without the slot, so a catch-up after downtime sends only the
    newest of several missed reminders of one deadline. A worker claims a row by
    setting ``state`` to ``sending`` with a lease; a row whose lease ran out is
    claimed again (its worker died).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due", "state", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    group_key: str = Field(max_length=255, index=True)
    #: reminder, escalation, digest, report or notice.
    kind: str = Field(max_length=16)
    #: What the notification is about, e.g. ``cycle:42``; re-planning works per source.
    source: str = Field(max_length=64, index=True)
    council_id: int | None = Field(default=None, foreign_key="council.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    #: The delivery channel: ``slack`` or ``email``.
    channel: str = Field(max_length=16)
    #: Slack channel name or id, Slack user id (a DM), or e-mail address.
    address: str = Field(max_length=254)
    language: str = Field(default="da", max_length=2)
    #: JSON: the catalogue message and its parameters, rendered at delivery.
    payload: str = Field(default="{}", sa_type=Text)
    #: Scheduled messages wait for working hours; a secretary's own do not.
    quiet: bool = True
    #: Name of a condition checked at delivery (escalations); skipped when false.
    condition: str | None = Field(default=None, max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)
    #: Past this instant the message is pointless (its deadline passed): skipped.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: pending, sending, sent, failed or skipped.
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Slack message ``ts`` or the e-mail Message-ID, once sent.
    external_id: str | None = Field(default=None, max_length=255)
    #: When a failure was included in the secretariat's daily report.
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Hearing(SQLModel, table=True):
    """A hearing (*høring*) of one council: a document, a deadline, who is heard.

    ``request_key`` is the Slack trigger (or CLI call) that opened it: Slack
    re-sends a request it thinks timed out, and the second one must find this
    hearing instead of opening another.
    """

    #: /hearing list: a council's hearings newest first (``ORDER BY id DESC LIMIT 20``).
    __table_args__ = (Index("ix_hearing_council_id_id", "council_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id", index=True)
    title: str = Field(max_length=200)
    #: employment_plan, result_review or other.
    subject: str = Field(default="other", max_length=32)
    document_url: str | None = Field(default=None, max_length=1000)
    deadline: date
    #: open or closed.
    state: str = Field(default="open", max_length=16, index=True)
    cycle_event_id: int | None = Field(default=None, foreign_key="cycle_event.id")
    request_key: str | None = Field(default=None, max_length=200, unique=True)
    opened_by: str = Field(max_length=200)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Permalink of the announcement in the council's channel, once it is posted.
    announcement_url: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class HearingInvitee(SQLModel, table=True):
    """One person heard in one hearing (the council's members by default)."""

    __tablename__ = "hearing_invitee"
    __table_args__ = (UniqueConstraint("hearing_id", "person_id", name="uq_hearing_invitee"),)

    id: int | None = Field(default=None, primary_key=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class HearingAnswer(SQLModel, table=True):
    """The current answer of one invitee; earlier versions live in the audit log."""

    __tablename__ = "hearing_answer"
    __table_args__ = (UniqueConstraint("hearing_id", "person_id", name="uq_hearing_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    #: The invitee whose seat answers.
    person_id: int = Field(foreign_key="person.id", index=True)
    #: Who typed it: the invitee or their substitute.
    answered_by_id: int = Field(foreign_key="person.id")
    #: support, support_with_remarks, object or no_remarks.
    position: str = Field(max_length=32)
    remarks: str = Field(default="", sa_type=Text)
    link: str | None = Field(default=None, max_length=1000)
    #: own or organisation.
    behalf: str = Field(default="own", max_length=16)
    organisation: str | None = Field(default=None, max_length=100)
    late: bool = False
    version: int = 1
    answered_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Absence(SQLModel, table=True):
    """A member away from ``start`` to ``end`` (inclusive), optionally with a substitute."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    start: date
    end: date
    substitute_id: int | None = Field(default=None, foreign_key="person.id")
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Meeting(SQLModel, table=True):
    """A seminar, conference or council meeting with calendar invitations.

    ``uid`` is the calendar UID, the same in every invitation, update and
    cancellation; ``sequence`` rises on every change sent to the invitees.
    """

    #: /seminar list: a council's coming meetings, soonest first; all councils' for the CLI.
    __table_args__ = (
        Index("ix_meeting_council_start", "council_id", "start_at"),
        Index("ix_meeting_start_at", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=200, unique=True)
    #: The organising council (the first named); its secretariat organises.
    council_id: int = Field(foreign_key="council.id", index=True)
    title: str = Field(max_length=200)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    location: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=1000)
    agenda: str = Field(default="", sa_type=Text)
    #: planned or cancelled.
    state: str = Field(default="planned", max_length=16)
    sequence: int = 0
    #: The sequence last sent to the invitees (None: not invited yet).
    sent_sequence: int | None = None
    #: The sequence of the last move to another day, which reset the answers: a
    #: calendar answer (iTIP REPLY) to an older sequence no longer counts.
    answers_sequence: int = 0
    cycle_event_id: int | None = Field(default=None, foreign_key="cycle_event.id")
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MeetingInvitee(SQLModel, table=True):
    """One person invited: a council member (``person_id``) or an extra address."""

    __tablename__ = "meeting_invitee"
    __table_args__ = (UniqueConstraint("meeting_id", "email", name="uq_meeting_invitee"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    #: Indexed for /seminar list: the meetings a person is invited to.
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    #: none, yes, no or maybe (Deltager / Deltager ikke / Måske).
    response: str = Field(default="none", max_length=8)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Where the answer came from: ``slack`` (the buttons) or ``calendar`` (an iTIP
    #: REPLY by e-mail); None while there is no answer.
    source: str | None = Field(default=None, max_length=8)


class Worker(SQLModel, table=True):
    """A running outbox worker (one per ``aarshjul run``), with its heartbeat.

    A row claimed by a worker stays with it while ``last_seen`` is fresh, however long
    its batch takes; once the heartbeat is older than ``outbox.worker_timeout_seconds``
    (or the process is gone from this host) another worker takes the rows over.
    """

    id: str = Field(primary_key=True, max_length=100)
    host: str = Field(max_length=255)
    pid: int
    started: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime, index=True)


from storage.agendas import Agenda, AgendaItem  # noqa: E402, F401
from storage.hearing_mail import HearingMailKey  # noqa: E402, F401
from storage.inbound import InboundMessage  # noqa: E402, F401
from storage.recommendations import Recommendation, RecommendationVote  # noqa: E402, F401
from storage.results import ResultDeviation, ResultValue  # noqa: E402, F401
from storage.web import SignInLink  # noqa: E402, F401
