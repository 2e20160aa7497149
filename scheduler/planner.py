"""Reminder planning: from dated deadlines to the notifications that fall due (pure).

A *source* (a cycle event today; an open hearing or a meeting in later work)
describes itself as a :class:`Deadline`: when it falls, at which working-day
offsets to remind, which audiences hear about it, and which escalations apply.
A :class:`Directory` says who those audiences are for each council. The planner
multiplies the two into :class:`PlannedNotification` values, each with a stable
idempotency key, so planning the same thing twice gives the same keys and the
outbox inserts nothing new. Nothing here reads the clock or touches storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from scheduler.workdays import WorkingCalendar


class Audience(StrEnum):
    """Who hears about a deadline."""

    CHANNEL = "channel"  # the council's Slack channel
    MEMBERS = "members"  # each member (and the chair), by DM and/or e-mail
    CHAIR = "chair"
    SECRETARIAT = "secretariat"


class Kind(StrEnum):
    """What sort of notification a row is; the renderer and the reports use it."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    DIGEST = "digest"
    REPORT = "report"
    NOTICE = "notice"


@dataclass(frozen=True)
class Recipient:
    """One address on one channel.

    ``who`` identifies the recipient in keys (``person:17``, ``council:3:channel``,
    ``council:3:secretariat``), so a changed e-mail address re-plans rather than
    duplicates.
    """

    who: str
    channel: str  # "slack" or "email"
    address: str
    language: str
    person_id: int | None = None


@dataclass(frozen=True)
class CouncilAudience:
    """The recipients of one council, per audience."""

    council_id: int
    channel: tuple[Recipient, ...] = ()
    members: tuple[Recipient, ...] = ()
    chair: tuple[Recipient, ...] = ()
    secretariat: tuple[Recipient, ...] = ()

    def recipients(self, audiences: Iterable[Audience]) -> list[Recipient]:
        """The union of the audiences, each (who, channel) once."""
        seen: set[tuple[str, str]] = set()
        found: list[Recipient] = []
        for audience in Audience:
            if audience not in audiences:
                continue
            for r in getattr(self, audience.value):
                # The same person as member and chair, or the secretariat's address
                # also a secretary's own: one message each.
                if (r.channel, r.address) in seen:
                    continue
                seen.add((r.channel, r.address))
                found.append(r)
        return found


@dataclass(frozen=True)
class Escalation:
    """'N working days before the deadline, if the condition holds, tell these.'

    ``condition`` names a check evaluated at delivery time (e.g. a hearing's
    "short of answers"); the row is skipped when it does not hold.
    """

    working_days: int
    condition: str
    audiences: frozenset[Audience] = frozenset({Audience.CHAIR, Audience.SECRETARIAT})


@dataclass(frozen=True)
class Deadline:
    """What a source tells the planner about itself.

    Args:
        source: stable identity of the thing reminded of, e.g. ``cycle:42``.
        council_id: the council whose audiences are used.
        day: the deadline (a local date).
        offsets: working days before ``day`` at which to remind; 0 is the morning
            of the day itself.
        audiences: who is reminded.
        message: catalogue key of the text; ``params`` fill it in at delivery.
        escalations: conditional messages to the chair and the secretariat.
        members: who the members audience is for this deadline, when not the
            council's members (a hearing: those heard who have not answered,
            or their substitutes).
        not_before: reminders falling before this instant are left out (a
            hearing opened today has just told everyone; no reminder on top).
    """

    source: str
    council_id: int
    day: date
    offsets: tuple[int, ...]
    audiences: frozenset[Audience]
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    escalations: tuple[Escalation, ...] = ()
    members: tuple[Recipient, ...] | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class PlannedNotification:
    """One outbox row as planned; storage turns it into a row."""

    key: str
    group_key: str
    kind: Kind
    source: str
    council_id: int | None
    person_id: int | None
    channel: str
    address: str
    language: str
    message: str
    params: Mapping[str, Any]
    due_at: datetime
    expires_at: datetime | None
    condition: str | None = None
    quiet: bool = True


@dataclass(frozen=True)
class SendWindow:
    """When scheduled messages may go out: working days, between two local times.

    Quiet hours are the complement: a message planned for 20:00, for a Sunday or
    for Christmas Eve goes out at the next allowed minute instead.
    """

    tz: tzinfo
    calendar: WorkingCalendar
    start: time = time(8, 0)
    end: time = time(17, 0)

    def local(self, day: date, at: time) -> datetime:
        """``day`` at local time ``at``, as an aware UTC instant (DST handled by zoneinfo)."""
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def allows(self, instant: datetime) -> bool:
        here = instant.astimezone(self.tz)
        return (
            self.calendar.is_working_day(here.date())
            and self.start <= here.time().replace(tzinfo=None) < self.end
        )

    def next_allowed(self, instant: datetime) -> datetime:
        """``instant`` itself if allowed, else the start of the next allowed period."""
        if self.allows(instant):
            return instant.astimezone(UTC)
        here = instant.astimezone(self.tz)
        day = here.date()
        if self.calendar.is_working_day(day) and here.time().replace(tzinfo=None) < self.start:
            return self.local(day, self.start)
        return self.local(self.calendar.next_working_day(day, inclusive=False), self.start)


def plan_deadlines(
    deadlines: Iterable[Deadline],
    audiences: Mapping[int, CouncilAudience],
    window: SendWindow,
    *,
    send_at: time,
    now: datetime | None = None,
) -> list[PlannedNotification]:
    """Every reminder and escalation of the deadlines, in due order.

    A reminder ``n`` working days before falls on the working day ``n`` working
    days before the deadline (the deadline itself for 0, or the working day
    before it if it is closed), at ``send_at``, moved out of quiet hours. It
    expires when the deadline day ends. With ``now``, notifications whose
    deadline has already passed are left out: there is nothing to remind of.
    """
    planned: list[PlannedNotification] = []
    for d in deadlines:
        council = audiences.get(d.council_id)
        if council is None:
            continue
        if d.members is not None:
            council = replace(council, members=d.members)
        expires = window.local(d.day + timedelta(days=1), time(0, 0))
        if now is not None and expires <= now:
            continue
        anchor = window.calendar.previous_working_day(d.day)
        for offset in d.offsets:
            due = _due(window, anchor, offset, send_at, expires)
            if d.not_before is not None and due < d.not_before:
                continue
            for r in council.recipients(d.audiences):
                planned.append(_notification(d, r, Kind.REMINDER, offset, due, expires))
        for esc in d.escalations:
            due = _due(window, anchor, esc.working_days, send_at, expires)
            for r in council.recipients(esc.audiences):
                escalation = _notification(
                    d, r, Kind.ESCALATION, esc.working_days, due, expires, condition=esc.condition
                )
                planned.append(escalation)
    planned.sort(key=lambda p: (p.due_at, p.key))
    return planned


def _due(
    window: SendWindow, anchor: date, working_days: int, send_at: time, expires: datetime
) -> datetime:
    """``working_days`` before ``anchor`` at ``send_at``, out of quiet hours, before expiry."""
    day = window.calendar.shift_working_days(anchor, -working_days)
    due = window.next_allowed(window.local(day, send_at))
    if due >= expires:
        # An evening send_at would push the day's message past its deadline.
        due = window.next_allowed(window.local(day, window.start))
    return due


def _notification(
    d: Deadline,
    r: Recipient,
    kind: Kind,
    offset: int,
    due: datetime,
    expires: datetime,
    *,
    condition: str | None = None,
) -> PlannedNotification:
    slot = f"{'d' if kind is Kind.REMINDER else 'e'}{offset}"
    return PlannedNotification(
        key=f"{d.source}/{slot}/{r.channel}/{r.who}",
        group_key=f"{d.source}/{kind.value}/{r.channel}/{r.who}",
        kind=kind,
        source=d.source,
        council_id=d.council_id,
        person_id=r.person_id,
        channel=r.channel,
        address=r.address,
        language=r.language,
        message=d.message if kind is Kind.REMINDER else f"{d.message}.escalation",
        params={**d.params, "offset": offset, "deadline": d.day.isoformat()},
        due_at=due,
        expires_at=expires,
        condition=condition,
    )


def notice(
    source: str,
    *,
    channel: str,
    address: str,
    subject: str,
    text: str,
    due_at: datetime,
    language: str = "da",
    council_id: int | None = None,
    person_id: int | None = None,
) -> PlannedNotification:
    """A one-off message with its words given (an announcement sent by hand).

    Not scheduled, so quiet hours do not hold it back, and nothing supersedes it.
    """
    key = f"{source}/{channel}/{address}"
    return PlannedNotification(
        key=key,
        group_key=key,
        kind=Kind.NOTICE,
        source=source,
        council_id=council_id,
        person_id=person_id,
        channel=channel,
        address=address,
        language=language,
        message="notice",
        params={"subject": subject, "text": text},
        due_at=due_at,
        expires_at=None,
        quiet=False,
    )


def weekly_slots(
    today: date, window: SendWindow, *, send_at: time, now: datetime | None = None
) -> list[tuple[date, str, datetime, datetime]]:
    """This week's and next week's Monday mail: (Monday, ``wYYYY-WW``, when it is due,
    when it expires). Due at ``send_at`` on the Monday, or the next allowed minute; with
    ``now``, this week's is left out once its time has passed; pointless once its week
    is over. The digests and the region's weekly overview both go out in these slots.
    """
    this_monday = today - timedelta(days=today.weekday())
    slots = []
    for monday in (this_monday, this_monday + timedelta(days=7)):
        iso = monday.isocalendar()
        due = window.next_allowed(window.local(monday, send_at))
        if now is not None and monday == this_monday and due < now:
            continue
        expires = window.local(monday + timedelta(days=7), time(0, 0))
        slots.append((monday, f"w{iso.year}-{iso.week:02d}", due, expires))
    return slots


def plan_digests(
    recipients: Sequence[Recipient],
    today: date,
    window: SendWindow,
    *,
    send_at: time,
    now: datetime | None = None,
) -> list[PlannedNotification]:
    """This week's and next week's digest (Monday at ``send_at``) per opted-in recipient.

    The content is gathered when the digest is sent, so it shows the deadlines as
    they stand that morning; the key holds the ISO week, so each week sends once.
    This week's stays planned all week: on a closed Monday it goes out on
    Tuesday, after the morning's re-plan has run. With ``now``, this week's is
    left out once its time has passed (someone who opts in on a Wednesday starts
    with next week's); a row already planned for it stays and is sent.
    """
    planned = []
    for monday, week, due, expires in weekly_slots(today, window, send_at=send_at, now=now):
        for r in recipients:
            source = f"digest:{r.who}"
            planned.append(
                PlannedNotification(
                    key=f"{source}/{week}/{r.channel}",
                    group_key=f"{source}/{r.channel}",
                    kind=Kind.DIGEST,
                    source=source,
                    council_id=None,
                    person_id=r.person_id,
                    channel=r.channel,
                    address=r.address,
                    language=r.language,
                    message="digest",
                    params={"week_start": monday.isoformat()},
                    due_at=due,
                    expires_at=expires,
                )
            )
    return planned
