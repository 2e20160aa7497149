"""Which state each milestone of an LBR's year is in: pure, no I/O, today passed in.

A cell is *done* (the seminar was held, the hearing closed with the council's answer,
a deadline marked done with ``aarshjul cycle done``), *late* (its date passed and it is
not done), *open* (in progress: a hearing open before its deadline, an invited meeting
still to come, a deadline within :data:`OPEN_DAYS` days) or *coming* (later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class CellState(StrEnum):
    DONE = "done"
    LATE = "late"
    OPEN = "open"
    COMING = "coming"


class MilestoneKind(StrEnum):
    MEETING = "meeting"
    HEARING = "hearing"
    DEADLINE = "deadline"


@dataclass(frozen=True)
class Milestone:
    """A column: a key of its own, the template event it follows, and how it is judged."""

    key: str
    template_key: str
    kind: MilestoneKind
    #: For hearings: the Hearing.subject that belongs to this milestone.
    subject: str | None = None


#: The columns, in the order of the year (seed 004: the LBR's year as the RBR follows it).
MILESTONES: tuple[Milestone, ...] = (
    Milestone("seminar", "plan_seminar", MilestoneKind.MEETING),
    Milestone(
        "result_review", "result_review_hearing", MilestoneKind.HEARING, subject="result_review"
    ),
    Milestone("business_plan", "business_plan", MilestoneKind.DEADLINE),
    Milestone(
        "plan_hearing",
        "employment_plan_hearing",
        MilestoneKind.HEARING,
        subject="employment_plan",
    ),
    Milestone("region_comments", "region_comments", MilestoneKind.DEADLINE),
    Milestone("plan_adopted", "employment_plan_adopted", MilestoneKind.DEADLINE),
)

#: A deadline this close (calendar days) counts as open: it is being worked on.
OPEN_DAYS = 14


@dataclass(frozen=True)
class HearingFacts:
    state: str
    deadline: date
    closed_on: date | None
    invited: int
    answered: int


@dataclass(frozen=True)
class MeetingFacts:
    state: str
    start: date
    invited: bool


@dataclass(frozen=True)
class Cell:
    state: CellState
    #: The date the cell is about: when it was done, or when it is due.
    on: date | None
    #: Hearings: members who answered of those heard.
    answered: int | None = None
    invited: int | None = None

    @property
    def share(self) -> float | None:
        """The share of members who answered, 0–1; None when nobody was heard."""
        if not self.invited or self.answered is None:
            return None
        return self.answered / self.invited


@dataclass(frozen=True)
class EventFacts:
    """What the cycle says about a milestone for one council-year (None: not in its year)."""

    date: date
    status: str
    hearing: HearingFacts | None = None
    meeting: MeetingFacts | None = None


def classify(milestone: Milestone, facts: EventFacts | None, today: date) -> Cell | None:
    """The cell for one milestone; None when the council's year has no such event."""
    if facts is None:
        return None
    if facts.status == "done":
        return Cell(CellState.DONE, facts.date)
    if milestone.kind is MilestoneKind.HEARING:
        return _hearing(facts, today)
    if milestone.kind is MilestoneKind.MEETING:
        return _meeting(facts, today)
    return _deadline(facts.date, today)


def _hearing(facts: EventFacts, today: date) -> Cell:
    h = facts.hearing
    if h is None:
        state = CellState.LATE if facts.date < today else CellState.COMING
        return Cell(state, facts.date)
    if h.state == "closed":
        return Cell(CellState.DONE, h.closed_on or h.deadline, h.answered, h.invited)
    state = CellState.LATE if h.deadline < today else CellState.OPEN
    return Cell(state, h.deadline, h.answered, h.invited)


def _meeting(facts: EventFacts, today: date) -> Cell:
    m = facts.meeting
    if m is None:
        # No meeting registered: the cycle's date is what we know.
        if facts.date < today:
            return Cell(CellState.DONE, facts.date)
        return _deadline(facts.date, today)
    if m.state == "cancelled":
        state = CellState.LATE if m.start < today else CellState.COMING
        return Cell(state, m.start)
    if m.start < today:
        return Cell(CellState.DONE, m.start)
    return Cell(CellState.OPEN if m.invited else CellState.COMING, m.start)


def _deadline(on: date, today: date) -> Cell:
    if on < today:
        return Cell(CellState.LATE, on)
    if on <= today + timedelta(days=OPEN_DAYS):
        return Cell(CellState.OPEN, on)
    return Cell(CellState.COMING, on)


@dataclass(frozen=True)
class Deviation:
    """An open deviation alert of one LBR, as the overview shows it."""

    measure: str
    name_da: str
    name_en: str
    #: The first period beyond the threshold (``2026-09``).
    since: str
    #: How far from the group's mean: ``+12.5 %`` or ``-3.0 points``.
    deviation: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_da


@dataclass(frozen=True)
class Recommendation:
    """An unanswered recommendation sent by or to one LBR."""

    id: int
    title: str
    sent_on: date | None


@dataclass
class LbrRow:
    key: str
    name: str
    cells: dict[str, Cell | None] = field(default_factory=dict)
    deviations: list[Deviation] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)

    def count(self, state: CellState) -> int:
        return sum(1 for c in self.cells.values() if c is not None and c.state is state)


@dataclass
class RegionOverview:
    rbr_key: str
    rbr_name: str
    year: int
    today: date
    rows: list[LbrRow] = field(default_factory=list)
    milestones: tuple[Milestone, ...] = MILESTONES

    def totals(self) -> dict[CellState, int]:
        return {s: sum(r.count(s) for r in self.rows) for s in CellState}
