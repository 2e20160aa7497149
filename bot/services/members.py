"""Members: import from CSV, list per council.

A person is identified by e-mail (case-insensitive) and may sit on several
councils; each seat (membership) has its own role and organisation.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import t, user_error
from bot.text import forbidden_at, formula_like
from scheduler.errors import InputError
from scheduler.model import Role
from storage import audit
from storage.models import Council, Membership, Person

REQUIRED_COLUMNS = ("council", "name", "email", "role")
OPTIONAL_COLUMNS = ("organisation", "slack_id", "notify", "digest", "language")
#: Every column, in the order the README shows them.
ALL_COLUMNS = ("council", "name", "email", "organisation", "role", *OPTIONAL_COLUMNS[1:])
#: Danish (and common spreadsheet) column names, read as the English ones.
COLUMN_ALIASES = {
    "råd": "council",
    "raad": "council",
    "navn": "name",
    "e-mail": "email",
    "mail": "email",
    "e-mailadresse": "email",
    "rolle": "role",
    "org": "organisation",
    "organization": "organisation",
    "slack-id": "slack_id",
    "slackid": "slack_id",
    "besked": "notify",
    "ugeoversigt": "digest",
    "sprog": "language",
}
#: The Danish headings a secretariat may use, in the order of the English ones.
DANISH_COLUMNS = (
    "råd",
    "navn",
    "e-mail",
    "organisation",
    "rolle",
    "slack_id",
    "besked",
    "ugeoversigt",
    "sprog",
)
NOTIFY_CHOICES = ("auto", "slack", "email", "both", "none")
_YES = {"ja", "yes", "true", "1", "x"}
_NO = {"nej", "no", "false", "0", ""}
MAX_ROWS = 10_000

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{6,20}$")
ROLE_ALIASES = {
    "chair": Role.CHAIR,
    "formand": Role.CHAIR,
    "member": Role.MEMBER,
    "medlem": Role.MEMBER,
    "secretary": Role.SECRETARY,
    "sekretær": Role.SECRETARY,
    "sekretariat": Role.SECRETARY,
    "observer": Role.OBSERVER,
    "observatør": Role.OBSERVER,
}


@dataclass(frozen=True)
class LineResult:
    line: int
    outcome: str  # added | updated | unchanged | rejected
    text: str  # what happened, in the reader's language


@dataclass
class ImportReport:
    lines: list[LineResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.lines if r.outcome == outcome)

    @property
    def rejected(self) -> int:
        return self.count("rejected")


@dataclass(frozen=True)
class _Row:
    line: int
    council: str
    name: str
    email: str
    organisation: str | None
    role: Role
    slack_id: str | None
    #: None when the column is absent or empty: keep what the person has.
    notify: str | None = None
    digest: bool | None = None
    language: str | None = None
    #: False when the file has no organisation column: keep the seat's organisation.
    has_organisation: bool = True


def valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else Windows-1252 as Danish Excel saves."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")


def _reader(text: str) -> csv.DictReader[str]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)


def _column(heading: str) -> str:
    """The column a heading names: the English name, or its Danish alias."""
    name = unicodedata.normalize("NFC", heading.strip().lower())
    return COLUMN_ALIASES.get(name, name)


def _refused_text(value: str, field: str, language: str) -> str | None:
    """Why a name or organisation cannot be stored, or None: an invisible or control
    character (named with its position), or a start a spreadsheet reads as a formula."""
    label = t(language, f"members.col.{field}").lower()
    found = forbidden_at(value)
    if found is not None:
        position, code = found
        return t(language, "members.reject.bad_char", field=label, position=position, code=code)
    if formula_like(value):
        return t(language, "members.reject.formula", field=label, first=value[0])
    return None


def _parse_row(
    line: int, raw: dict[str | None, str | list[str] | None], language: str, max_cell: int
) -> _Row | str:
    """A validated row, or the reason it is rejected."""
    if raw.get(None):
        return t(language, "members.reject.extra_fields")
    # Named columns hold a string, or None when the row is short.
    value = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
    for column, cell in value.items():
        if len(cell) > max_cell:
            return t(
                language, "members.reject.long_cell", column=column, length=len(cell),
                limit=max_cell,
            )  # fmt: skip
    name, email = value.get("name", ""), value.get("email", "").lower()
    council = value.get("council", "").lower()
    if not council:
        return t(language, "members.reject.no_council")
    if not name:
        return t(language, "members.reject.no_name")
    name = unicodedata.normalize("NFC", name)
    if len(name) > 200:
        return t(language, "members.reject.bad_name")
    refused = _refused_text(name, "name", language)
    if refused:
        return refused
    if not valid_email(email):
        return t(language, "members.reject.bad_email", email=value.get("email", ""))
    role = ROLE_ALIASES.get(value.get("role", "").lower())
    if role is None:
        return t(
            language,
            "members.reject.bad_role",
            role=value.get("role", ""),
            roles=", ".join(t("da", f"role.{r.value}") for r in Role),
            english=", ".join(r.value for r in Role),
        )
    organisation = unicodedata.normalize("NFC", value.get("organisation") or "") or None
    if organisation and len(organisation) > 100:
        return t(language, "members.reject.bad_organisation")
    refused = _refused_text(organisation or "", "organisation", language)
    if refused:
        return refused
    slack_id = value.get("slack_id") or None
    if slack_id and not SLACK_ID_RE.match(slack_id):
        return t(language, "members.reject.bad_slack_id", slack_id=slack_id)
    notify = value.get("notify", "").lower() or None
    if notify and notify not in NOTIFY_CHOICES:
        return t(
            language, "members.reject.bad_notify", notify=notify, choices=", ".join(NOTIFY_CHOICES)
        )
    digest_text = value.get("digest", "").lower()
    digest: bool | None = None
    if "digest" in value and digest_text:
        if digest_text not in _YES | _NO:
            return t(language, "members.reject.bad_digest", digest=digest_text)
        digest = digest_text in _YES
    person_language = value.get("language", "").lower() or None
    if person_language and person_language not in ("da", "en"):
        return t(language, "members.reject.bad_language", language=person_language)
    return _Row(
        line,
        council,
        name,
        email,
        organisation,
        role,
        slack_id,
        notify,
        digest,
        person_language,
        has_organisation="organisation" in value,
    )


async def import_members(
    session: AsyncSession,
    data: bytes,
    *,
    now: datetime,
    actor: str,
    language: str = "da",
    strict: bool = False,
    rename: bool = False,
    max_cell: int = 2000,
    max_rows: int = MAX_ROWS,
) -> ImportReport:
    """Add or update memberships from CSV (``council,name,email,organisation,role,slack_id``).

    Bad rows are reported with their line number and skipped; the good rows are
    written in the caller's session, which the caller commits. With ``strict``, a
    file with any bad row writes nothing and only the report comes back. A row that
    would rename a person (their e-mail known under another name, in the database or
    an earlier row) is a conflict, reported and skipped, unless ``rename``.

    Raises:
        InputError: the file itself is unusable (encoding, header, not CSV, too many rows).
    """
    try:
        text = decode_csv(data)
    except UnicodeDecodeError:
        raise user_error(InputError, "members.bad_encoding") from None
    reader = _reader(text)
    header = [_column(h) for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise user_error(
            InputError,
            "members.bad_header",
            missing=", ".join(missing) or "-",
            unknown=", ".join(unknown) or "-",
            expected=",".join(ALL_COLUMNS),
            danish=",".join(DANISH_COLUMNS),
        )
    reader.fieldnames = header

    councils = {c.key: c for c in (await session.exec(select(Council))).all() if c.active}
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    rows: list[_Row] = []
    named: dict[str, str] = {}  # e-mail → the name its first row gives
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            # A cell beyond csv's own limit, a NUL byte: the file is not CSV.
            raise user_error(
                InputError, "members.not_csv", line=reader.line_num + 1, why=str(exc)
            ) from None
        line = reader.line_num
        if len(rows) + report.rejected >= max_rows:
            raise user_error(InputError, "members.too_many", limit=max_rows)
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # blank line
        parsed = _parse_row(line, record, language, max_cell)
        if isinstance(parsed, _Row):
            first = seen.get((parsed.council, parsed.email))
            earlier = named.get(parsed.email)
            if parsed.council not in councils:
                parsed = t(language, "members.reject.unknown_council", council=parsed.council)
            elif first is not None:
                parsed = t(language, "members.reject.duplicate", first=first)
            elif earlier is not None and earlier != parsed.name and not rename:
                parsed = _rename_conflict(parsed, earlier, language)
        if isinstance(parsed, str):
            report.lines.append(LineResult(line, "rejected", parsed))
            continue
        seen[(parsed.council, parsed.email)] = line
        named.setdefault(parsed.email, parsed.name)
        rows.append(parsed)

    if strict and report.rejected:
        report.lines.sort(key=lambda r: r.line)
        return report

    # Everyone and every seat the file touches, in two queries rather than per row.
    people: dict[str, Person] = {}
    seats: dict[tuple[int, int], Membership] = {}
    if rows:
        found = await session.exec(
            select(Person).where(col(Person.email).in_({r.email for r in rows}))
        )
        people = {p.email: p for p in found.all()}
    if people:
        held = await session.exec(
            select(Membership).where(col(Membership.person_id).in_([p.id for p in people.values()]))
        )
        seats = {(m.person_id, m.council_id): m for m in held.all()}
    for row in rows:
        known = people.get(row.email)
        if known is not None and known.name != row.name and not rename:
            report.lines.append(
                LineResult(row.line, "rejected", _rename_conflict(row, known.name, language))
            )
            continue
        report.lines.append(
            await _apply(session, row, councils[row.council], people, seats, now, actor, language)
        )
    report.lines.sort(key=lambda r: r.line)
    return report


def _rename_conflict(row: _Row, current: str, language: str) -> str:
    return t(language, "members.reject.rename", email=row.email, current=current, name=row.name)


async def _apply(
    session: AsyncSession,
    row: _Row,
    council: Council,
    people: dict[str, Person],
    seats: dict[tuple[int, int], Membership],
    now: datetime,
    actor: str,
    language: str,
) -> LineResult:
    person = people.get(row.email)
    person_changes: dict[str, dict[str, object]] = {}
    if person is None:
        person = Person(
            name=row.name,
            email=row.email,
            slack_id=row.slack_id,
            notify=row.notify or "auto",
            digest=bool(row.digest),
            language=row.language,
            created_at=now,
            updated_at=now,
        )
        session.add(person)
        await session.flush()
        people[row.email] = person
    else:
        # An empty slack_id cell keeps the id we have (it may come from Slack itself).
        wanted: dict[str, object] = {
            "name": row.name,
            "slack_id": row.slack_id or person.slack_id,
        }
        # Empty preference cells keep what the person has.
        if row.notify is not None:
            wanted["notify"] = row.notify
        if row.digest is not None:
            wanted["digest"] = row.digest
        if row.language is not None:
            wanted["language"] = row.language
        person_changes = audit.apply_changes(person, wanted)
        if person_changes:
            person.updated_at = now

    assert person.id is not None and council.id is not None
    membership = seats.get((person.id, council.id))
    seat_changes: dict[str, dict[str, object]] = {}
    if membership is None:
        membership = Membership(
            person_id=person.id,
            council_id=council.id,
            role=row.role.value,
            organisation=row.organisation,
            created_at=now,
            updated_at=now,
        )
        session.add(membership)
        seats[(person.id, council.id)] = membership
        outcome = "added"
    else:
        seat: dict[str, object] = {"role": row.role.value}
        if row.has_organisation:
            seat["organisation"] = row.organisation
        seat_changes = audit.apply_changes(membership, seat)
        if seat_changes:
            membership.updated_at = now
        outcome = "updated" if seat_changes or person_changes else "unchanged"
    if outcome != "unchanged":
        audit.record(
            session,
            at=now,
            actor=actor,
            action=f"membership.{outcome}",
            entity="membership",
            entity_id=f"{council.key}/{row.email}",
            role=row.role.value,
            organisation=row.organisation,
            person_changes=person_changes,
            seat_changes=seat_changes,
        )
    text = t(
        language,
        f"members.outcome.{outcome}",
        name=row.name,
        council=council.key,
        role=t(language, f"role.{row.role.value}"),
    )
    return LineResult(row.line, outcome, text)


@dataclass(frozen=True)
class MemberView:
    name: str
    email: str
    role: str
    organisation: str | None
    slack_id: str | None
    #: How the person gets reminders (auto, slack, email, both, none).
    notify: str = "auto"
    #: Opted in to the Monday digest.
    digest: bool = False
    #: "da", "en", or None for the configured default.
    language: str | None = None


async def list_members(session: AsyncSession, council: Council) -> list[MemberView]:
    result = await session.exec(
        select(Person, Membership)
        .join(Membership, Membership.person_id == Person.id)  # type: ignore[arg-type]
        .where(Membership.council_id == council.id)
        .order_by(Membership.role, Person.name)
    )
    return [
        MemberView(
            p.name, p.email, m.role, m.organisation, p.slack_id, p.notify, p.digest, p.language
        )
        for p, m in result.all()
    ]
