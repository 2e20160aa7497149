"""The configuration sections of the capabilities built on the core (issues 13–15):
``[web]`` (the pages), ``[recommendations]``, ``[inbound]`` (mail read from a mailbox)
and ``[results]`` (the results watch). :mod:`bot.config` assembles them into
``Settings``; they are importable from there too.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config_errors import Refusal
from scheduler.model import CouncilKind

if TYPE_CHECKING:
    from bot.config import CouncilConfig

#: An IMAP mailbox name: printable, no wildcards or quotes (RFC 3501 list-wildcards).
_FOLDER = r"^[^\x00-\x1f\x7f*%\"\\]+$"


class Section(BaseModel):
    """A section of config.toml: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WebConfig(Section):
    """The web pages (the region's overview, a council's page, the sign-in)."""

    #: The address people reach the bot at, for links in e-mails and Slack's redirect
    #: (``https://aarshjul.example.dk``); http://[server] host:port when absent.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    #: Slack's OpenID Connect authorisation page (Sign in with Slack).
    slack_authorize_url: str = Field(
        default="https://slack.com/openid/connect/authorize", pattern=r"^https?://\S+$"
    )
    #: How long a sign-in lasts.
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    #: How long an e-mailed sign-in link is valid.
    link_minutes: int = Field(default=15, ge=1, le=24 * 60)


class RecommendationsConfig(Section):
    """``[recommendations]``: how long a receiver has to answer, and who is told when not."""

    #: Working days after sending at which the receiver is reminded to answer.
    answer_days: int = Field(default=20, ge=1, le=250)
    #: Working days after that reminder at which the sender's chair hears of it.
    escalate_days: int = Field(default=5, ge=0, le=250)
    #: Share of the voting seats (members and the chair) that must vote yes in Slack
    #: for the council to agree; unset: the council's quorum, ``[hearings] quorum``.
    quorum: float | None = Field(default=None, gt=0, le=1)


class InboundConfig(Section):
    """Inbound mail (issue 13): the mailbox ``aarshjul run`` reads; IMAP_USERNAME/PASSWORD."""

    backend: Literal["none", "imap"] = "none"
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    folder: str = Field(default="INBOX", min_length=1, max_length=200, pattern=_FOLDER)
    #: Handled (or deliberately ignored) messages are moved here; created if missing.
    done_folder: str = Field(default="done", min_length=1, max_length=200, pattern=_FOLDER)
    #: Messages refused as malformed are moved here, with the reason stored.
    failed_folder: str = Field(default="failed", min_length=1, max_length=200, pattern=_FOLDER)
    #: Poll this often when the server has no IDLE (and re-IDLE this often when it has).
    poll_seconds: int = Field(default=60, ge=1, le=3600)
    #: The raw message is kept this many days (its Message-ID and hash for ever).
    keep_raw_days: int = Field(default=90, ge=0, le=3650)
    #: Larger messages are refused unread (the IMAP reader asks RFC822.SIZE first).
    max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    #: Hearing e-mails to members get a Reply-To ``local+h<id>.<person>.<token>@domain`` of this.
    reply_address: str = Field(default="", max_length=200, pattern=r"^$|^[^@\s+]+@[^@\s]+$")

    @model_validator(mode="after")
    def _imap_needs_host(self) -> InboundConfig:
        if self.backend == "imap" and not self.host.strip():
            raise Refusal("inbound.config.no_host")
        if len({self.folder, self.done_folder, self.failed_folder}) < 3:
            raise Refusal("inbound.config.same_folder")
        return self


class MeasureConfig(Section):
    """One result measure (``[results.measures.KEY]``), as Jobindsats.dk publishes it."""

    name_da: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    #: Shown after a value ("pct.", "fuldtidspersoner").
    unit: str = Field(default="", max_length=40)
    #: Whether a value above the group's mean is good (a share in work) or bad
    #: (unemployment): a deviation counts only in the bad direction.
    higher_is_better: bool

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_da


class ResultsGroupConfig(Section):
    """Comparable jobcentres (*klynge*): each LBR's results against the others'."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)
    #: The LBR keys of the group.
    members: tuple[str, ...] = Field(min_length=2)


class ResultsThresholdConfig(Section):
    """A deviation an RBR agreed in advance with the regional director: beyond it, for
    ``periods`` periods in a row, the RBR and the LBR are alerted."""

    #: The RBR's key; the threshold applies to the LBRs of its region.
    council: str
    measure: str
    #: Percent of the group's mean (without the jobcentre itself)...
    percent: float | None = Field(default=None, gt=0, le=1000)
    #: ...or points (the measure's own unit): exactly one of the two.
    points: float | None = Field(default=None, gt=0)
    periods: int = Field(default=2, ge=1, le=60)
    agreed_on: date
    agreed_with: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_limit(self) -> ResultsThresholdConfig:
        if (self.percent is None) == (self.points is None):
            raise Refusal("results.config.one_limit", council=self.council, measure=self.measure)
        return self


class ResultsConfig(Section):
    """``[results]``: the measures, the groups of comparable jobcentres, the thresholds."""

    measures: dict[str, MeasureConfig] = Field(default_factory=dict)
    groups: tuple[ResultsGroupConfig, ...] = ()
    thresholds: tuple[ResultsThresholdConfig, ...] = ()
    #: How many periods a chart shows.
    chart_periods: int = Field(default=24, ge=2, le=240)
    #: Most rows a results import accepts (five years of 98 jobcentres and 20
    #: measures are 117,600); ``[limits]`` bounds the file's size and cells.
    import_max_rows: int = Field(default=500_000, ge=1, le=5_000_000)

    @field_validator("measures")
    @classmethod
    def _measure_keys(cls, value: dict[str, MeasureConfig]) -> dict[str, MeasureConfig]:
        for key in value:
            if not re.match(r"^[a-z0-9][a-z0-9_-]{0,62}$", key):
                raise Refusal("results.config.measure_key", measure=key)
        return value

    def measure(self, key: str) -> MeasureConfig | None:
        """The measure configured under ``key`` (None when there is none)."""
        return self.measures.get(key)

    def group_of(self, council_key: str) -> ResultsGroupConfig | None:
        return next((g for g in self.groups if council_key in g.members), None)

    def check_councils(self, councils: dict[str, CouncilConfig]) -> None:
        """Refuse groups and thresholds that name a council of the wrong kind."""
        seen_groups: set[str] = set()
        placed: dict[str, str] = {}
        for group in self.groups:
            if group.key in seen_groups:
                raise Refusal("results.config.group_twice", group=group.key)
            seen_groups.add(group.key)
            for member in group.members:
                found = councils.get(member)
                if found is None or found.kind is not CouncilKind.LBR:
                    raise Refusal("results.config.group_not_lbr", group=group.key, council=member)
                if member in placed:
                    raise Refusal(
                        "results.config.member_twice",
                        council=member,
                        group=placed[member],
                        other=group.key,
                    )
                placed[member] = group.key
        agreed: set[tuple[str, str]] = set()
        for threshold in self.thresholds:
            found = councils.get(threshold.council)
            if found is None or found.kind is not CouncilKind.RBR:
                raise Refusal("results.config.threshold_not_rbr", council=threshold.council)
            if threshold.measure not in self.measures:
                raise Refusal(
                    "results.config.threshold_measure",
                    council=threshold.council,
                    measure=threshold.measure,
                )
            if (threshold.council, threshold.measure) in agreed:
                raise Refusal(
                    "results.config.threshold_twice",
                    council=threshold.council,
                    measure=threshold.measure,
                )
            agreed.add((threshold.council, threshold.measure))
        names: dict[str, str] = {}
        for council in councils.values():
            if council.jobcentre:
                folded = council.jobcentre.casefold()
                if council.kind is not CouncilKind.LBR:
                    raise Refusal("results.config.jobcentre_not_lbr", council=council.key)
                if folded in names:
                    raise Refusal(
                        "results.config.jobcentre_twice",
                        jobcentre=council.jobcentre,
                        council=council.key,
                        other=names[folded],
                    )
                names[folded] = council.key
