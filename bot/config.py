"""Typed configuration: config.toml, overridden key by key from the environment.

Order of precedence (last wins): the file named by ``AARSHJUL_CONFIG`` (else
``./config.toml``, else the built-in defaults), then ``AARSHJUL__SECTION__KEY``
variables, then ``DATABASE_URL`` and ``SLACK_API_URL``. Secrets are read from the environment only;
a secret-looking key in the file is refused so nobody commits one by mistake.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config_errors import Refusal, toml_error, validation_error
from bot.config_sections import (  # noqa: F401
    InboundConfig,
    MeasureConfig,
    RecommendationsConfig,
    ResultsConfig,
    ResultsGroupConfig,
    ResultsThresholdConfig,
    Section,
    WebConfig,
)
from bot.i18n import user_error
from scheduler.errors import ConfigError
from scheduler.model import CouncilKind, Language
from scheduler.workdays import NAMED_CLOSED_DAYS, WorkingCalendar

ENV_PREFIX = "AARSHJUL__"
CONFIG_ENV = "AARSHJUL_CONFIG"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///aarshjul.db"
_SECRET_KEY = re.compile(r"(^|_)(password|passwd|secret|token|api_key)($|_)")


_Section = Section


class GeneralConfig(_Section):
    timezone: str = "Europe/Copenhagen"
    language: Language = Language.DA
    #: A shipped template name ("default") or a path to a template .toml file.
    template: str = "default"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refusal("config.why.unknown_zone", value=value) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseConfig(_Section):
    url: str = DEFAULT_DATABASE_URL
    #: Connections per process, and as many again on demand: enough for the worker's
    #: deliveries in flight and a burst of Slack requests at once.
    pool_size: int = Field(default=20, ge=1, le=500)
    #: Seconds a request waits for a free connection before it is refused with a clear line.
    pool_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    def __repr_args__(self) -> Any:
        # The URL may carry a password: print it masked. SQLAlchemy is imported here,
        # not at the top, so loading the configuration (every command does) stays cheap.
        from sqlalchemy.engine import make_url

        yield "url", make_url(self.url).render_as_string(hide_password=True)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        return normalise_database_url(value)


class CalendarConfig(_Section):
    #: Days that are not public holidays but on which offices close.
    closed_days: tuple[str, ...] = ("constitution_day", "christmas_eve", "new_years_eve")
    #: Further closed dates, e.g. a local office holiday.
    extra_closed_dates: tuple[date, ...] = ()

    @field_validator("closed_days")
    @classmethod
    def _known_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in NAMED_CLOSED_DAYS]
        if unknown:
            raise Refusal(
                "config.why.unknown_closed_day",
                value=unknown[0],
                known=", ".join(NAMED_CLOSED_DAYS),
            )
        return value

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.closed_days, self.extra_closed_dates)


class RemindersConfig(_Section):
    #: Working days before a deadline at which to remind (0 = the morning of the day).
    offsets: tuple[int, ...] = (14, 7, 1, 0)
    #: Local time of day at which reminders go out.
    send_at: time = time(8, 0)
    quiet_start: time = time(17, 0)
    quiet_end: time = time(8, 0)
    #: Minimum hearing length in days; shorter ones warn the secretary.
    min_hearing_days: int = Field(default=14, ge=1)

    @model_validator(mode="after")
    def _send_inside_working_hours(self) -> RemindersConfig:
        if not self.quiet_end < self.quiet_start:
            raise Refusal("config.why.quiet_order")
        if not self.quiet_end <= self.send_at < self.quiet_start:
            raise Refusal(
                "config.why.send_at_outside",
                start=f"{self.quiet_end:%H:%M}",
                end=f"{self.quiet_start:%H:%M}",
            )
        return self

    @field_validator("offsets")
    @classmethod
    def _non_negative(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 0 or v > 250 for v in value):
            raise Refusal("config.why.offsets_range")
        return tuple(sorted(set(value), reverse=True))


class EmailConfig(_Section):
    backend: Literal["smtp", "file"] = "file"
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    sender: str = "aarshjul@localhost"
    reply_to: str = ""
    folder: str = "outbox-mail"


class OutboxConfig(_Section):
    #: Rows claimed per batch; at most this many can be in flight when a worker dies.
    batch_size: int = Field(default=100, ge=1, le=5000)
    #: Seconds a claimed row stays a worker's before another may take it over, when
    #: its worker publishes no heartbeat (a live worker's heartbeat keeps its rows).
    lease_seconds: int = Field(default=300, ge=1)
    #: Seconds between two heartbeats of a worker (its row in the ``worker`` table).
    heartbeat_seconds: int = Field(default=5, ge=1, le=300)
    #: A worker whose heartbeat is older than this is dead: its rows are taken over.
    worker_timeout_seconds: int = Field(default=30, ge=2, le=3600)
    #: Attempts before a row is marked failed and reported to the secretariat.
    max_attempts: int = Field(default=8, ge=1, le=100)
    #: First retry delay in seconds (doubling, with jitter, up to an hour).
    retry_base_seconds: int = Field(default=30, ge=1)
    #: The safety-net sweep: seconds between two looks at the outbox.
    sweep_seconds: int = Field(default=30, ge=1)
    #: Deliveries in flight at once, per channel.
    concurrency: int = Field(default=16, ge=1, le=256)
    #: SMTP connections used at once.
    smtp_connections: int = Field(default=2, ge=1, le=32)
    #: Local time of the daily re-plan (digests, failure reports, member changes).
    daily_at: time = time(6, 0)

    @model_validator(mode="after")
    def _beats_within_timeout(self) -> OutboxConfig:
        # A live worker must beat several times per timeout, or it is taken for dead.
        if self.heartbeat_seconds * 2 > self.worker_timeout_seconds:
            raise Refusal(
                "config.why.heartbeat_half",
                heartbeat=self.heartbeat_seconds,
                timeout=self.worker_timeout_seconds,
            )
        return self


class ServerConfig(_Section):
    #: Address of the bot's HTTP server (/healthz, /metrics); 0.0.0.0 in a container.
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=0, le=65535)


class SlackConfig(_Section):
    #: Web API base URL; SLACK_API_URL in the environment overrides it.
    api_url: str = "https://slack.com/api/"
    #: Where Slack posts commands, interactivity and events in HTTP mode.
    path: str = Field(default="/slack/events", pattern=r"^/[A-Za-z0-9/_-]*$")


class MeetingsConfig(_Section):
    #: Working days before a cycle meeting at which the secretariat is asked to
    #: create it and send the invitations (0: no prompt).
    prompt_days: int = Field(default=30, ge=0, le=250)


class HearingsConfig(_Section):
    #: Working days before its deadline at which the chair hears of missing answers.
    escalate_days: int = Field(default=2, ge=0, le=60)
    #: Share of the invitees whose answers must be in; fewer, and the chair is told.
    quorum: float = Field(default=1.0, gt=0, le=1)
    #: Working days before a cycle hearing's deadline at which the secretary is
    #: prompted to open it (0: no prompt).
    prompt_days: int = Field(default=20, ge=0, le=250)
    #: Close a hearing by itself this many working days after its deadline (late
    #: answers are accepted until then); -1 leaves closing to the secretary.
    auto_close_days: int = Field(default=1, ge=-1, le=60)


class LimitsConfig(_Section):
    #: Largest file an import reads (members now, results later), in MB; checked
    #: before reading, and standard input or a device is read through the same bound.
    import_max_mb: float = Field(default=20, gt=0, le=1000)
    #: Longest cell an import accepts, in characters.
    cell_max_chars: int = Field(default=2000, ge=10, le=100_000)
    #: Most rows an import accepts.
    import_max_rows: int = Field(default=10_000, ge=1, le=1_000_000)


class CouncilConfig(_Section):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    kind: CouncilKind
    name: str = Field(min_length=1, max_length=200)
    #: The RBR an LBR belongs to (its key).
    region: str | None = None
    slack_channel: str | None = Field(default=None, pattern=r"^#?[a-z0-9][a-z0-9._-]{0,79}$")
    secretariat_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    #: Per-council reminder offsets; the [reminders] offsets when absent.
    reminder_offsets: tuple[int, ...] | None = None
    #: An LBR's municipality as results files name it ("Gribskov"), besides its key.
    jobcentre: str | None = Field(default=None, min_length=1, max_length=100)


class Settings(_Section):
    general: GeneralConfig = GeneralConfig()
    database: DatabaseConfig = DatabaseConfig()
    calendar: CalendarConfig = CalendarConfig()
    reminders: RemindersConfig = RemindersConfig()
    email: EmailConfig = EmailConfig()
    slack: SlackConfig = SlackConfig()
    hearings: HearingsConfig = HearingsConfig()
    recommendations: RecommendationsConfig = RecommendationsConfig()
    meetings: MeetingsConfig = MeetingsConfig()
    outbox: OutboxConfig = OutboxConfig()
    server: ServerConfig = ServerConfig()
    web: WebConfig = WebConfig()
    limits: LimitsConfig = LimitsConfig()
    inbound: InboundConfig = InboundConfig()
    councils: tuple[CouncilConfig, ...] = ()
    #: After ``councils``: its check reads them (and a refusal names ``results``).
    results: ResultsConfig = ResultsConfig()

    @field_validator("results")
    @classmethod
    def _results_councils(cls, value: ResultsConfig, info: ValidationInfo) -> ResultsConfig:
        councils = info.data.get("councils")
        if councils is not None:
            value.check_councils({c.key: c for c in councils})
        return value

    @model_validator(mode="after")
    def _councils_consistent(self) -> Settings:
        seen: dict[str, CouncilConfig] = {}
        for council in self.councils:
            if council.key in seen:
                raise Refusal("config.why.council_twice", council=council.key)
            seen[council.key] = council
        for council in self.councils:
            if council.kind is CouncilKind.LBR:
                if not council.region:
                    raise Refusal("config.why.needs_region", council=council.key)
                parent = seen.get(council.region)
                if parent is None or parent.kind is not CouncilKind.RBR:
                    raise Refusal(
                        "config.why.region_not_rbr", council=council.key, region=council.region
                    )
            elif council.region:
                raise Refusal("config.why.region_only_lbr", council=council.key)
        return self

    def council(self, key: str) -> CouncilConfig | None:
        return next((c for c in self.councils if c.key == key), None)


class Secrets(BaseModel):
    """Credentials, from the environment only; they never print."""

    model_config = ConfigDict(frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: Sign in with Slack (OpenID Connect): the app's client id and secret.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    #: Signs the web pages' session cookies; the same on every replica.
    aarshjul_web_secret: SecretStr | None = None
    imap_username: str | None = None
    imap_password: SecretStr | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        return cls(**{name: environ.get(name.upper()) or None for name in cls.model_fields})


#: ``Config.source`` when no file was found: only the embedded defaults (no councils).
BUILT_IN_SOURCE = "(built-in defaults)"


class Config(BaseModel):
    """Everything the application needs to start, loaded once."""

    model_config = ConfigDict(frozen=True)

    settings: Settings
    secrets: Secrets
    source: str


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and give the async driver SQLAlchemy needs."""
    url = url.strip()
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
        return url
    scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url)
    # Never echo the rest: it may hold a password.
    if scheme:
        raise Refusal("config.why.database_scheme", scheme=scheme.group(0))
    raise Refusal("config.why.database_no_scheme")


def _parse_env_value(raw: str) -> Any:
    """TOML literal if it parses as one (2525, true, ["a"]), else the plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_override(data: dict[str, Any], path: list[str], value: Any, var: str) -> None:
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        here = ".".join(path[:i]) or "(top level)"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"{var}: {part!r} is not an index of the {len(node)} entries of {here}"
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                continue
            child = node.get(part)
            if child is None:
                if path[i + 1].isdigit():
                    raise ConfigError(f"{var}: {'.'.join(path[: i + 1])} has no entries to index")
                child = node[part] = {}
            node = child
        else:
            raise ConfigError(f"{var}: {here} is a single value, not a table or a list")


def _find_secret_keys(data: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if _SECRET_KEY.search(str(key).lower()):
                found.append(dotted)
            found.extend(_find_secret_keys(value, dotted))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(_find_secret_keys(value, f"{prefix}[{i}]"))
    return found


def _describe_loc(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    parts: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            name = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                key = node[part].get("key")
                if key:
                    name = f"[{part}] (key {key!r})"
            parts.append(name)
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(("." if parts else "") + part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def load_config(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Read, merge and validate the configuration.

    Raises:
        ConfigError: one message naming the file (or variable), the key and what was
            expected.
    """
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    named = environ.get(CONFIG_ENV)
    if named:
        path: Path | None = Path(named)
        if not path.is_file():
            raise user_error(ConfigError, "config.no_file", variable=CONFIG_ENV, path=named)
    else:
        path = cwd / "config.toml"
        if not path.is_file():
            path = None
    source = str(path) if path else BUILT_IN_SOURCE

    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise toml_error(source, text, exc) from None
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise user_error(ConfigError, "config.unreadable", source=source, why=why) from None
        secret_keys = _find_secret_keys(data)
        if secret_keys:
            raise user_error(ConfigError, "config.secret", source=source, setting=secret_keys[0])

    overrides: dict[tuple[str, ...], str] = {}
    for var in sorted(environ):
        if not var.startswith(ENV_PREFIX):
            continue
        path_parts = [p.lower() for p in var[len(ENV_PREFIX) :].split("__") if p]
        if not path_parts:
            continue
        _apply_override(data, path_parts, _parse_env_value(environ[var]), var)
        overrides[tuple(path_parts)] = var
    if environ.get("DATABASE_URL"):
        data.setdefault("database", {})["url"] = environ["DATABASE_URL"]
        overrides[("database", "url")] = "DATABASE_URL"
    if environ.get("SLACK_API_URL"):
        data.setdefault("slack", {})["api_url"] = environ["SLACK_API_URL"]
        overrides[("slack", "api_url")] = "SLACK_API_URL"

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        # The variable that set the failing key, or a table above or below it.
        loc_text = tuple(str(p) for p in loc)
        origin = next(
            (
                var
                for keys, var in overrides.items()
                if loc_text and keys[: len(loc_text)] == loc_text[: len(keys)]
            ),
            None,
        )
        raise validation_error(source, origin, exc, data, text, Settings) from None
    return Config(settings=settings, secrets=Secrets.from_environ(environ), source=source)
