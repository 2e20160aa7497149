"""Domain vocabulary shared by the engine, storage and the user interfaces."""

from __future__ import annotations

from enum import StrEnum


class CouncilKind(StrEnum):
    """The bodies that have a cycle: national, regional and local councils."""

    BER = "BER"
    RBR = "RBR"
    LBR = "LBR"


class Role(StrEnum):
    """A person's role in one council; the same person may hold another elsewhere."""

    CHAIR = "chair"
    MEMBER = "member"
    SECRETARY = "secretary"
    OBSERVER = "observer"


class Owner(StrEnum):
    """Who is responsible for a cycle event."""

    MINISTRY = "ministry"
    BER = "BER"
    RBR = "RBR"
    LBR = "LBR"
    JOBCENTRE = "jobcentre"


class EventType(StrEnum):
    """What an event is: a plain deadline, a hearing (collects answers) or a meeting."""

    DEADLINE = "deadline"
    HEARING = "hearing"
    MEETING = "meeting"


class Adjust(StrEnum):
    """Where a date that lands on a closed day goes."""

    PREVIOUS = "previous_working_day"
    NEXT = "next_working_day"
    NONE = "none"


class Language(StrEnum):
    DA = "da"
    EN = "en"
