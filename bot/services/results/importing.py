"""Importing results files: CSV (UTF-8 or Windows-1252, comma or semicolon, Danish
decimal comma) or XLSX, with the columns ``jobcentre,measure,period,value`` (Danish
``jobcenter,mål,periode,værdi``).

All or nothing by default: one bad row and every bad row is reported by its line
number and nothing is saved (``skip_bad`` saves the good rows, as the members import
does). Re-importing the same figures changes nothing; a changed figure is an update
with an audit row.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    select,
    text,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import CouncilConfig, ResultsConfig
from bot.i18n import t, user_error
from bot.services.members import decode_csv
from bot.services.results.periods import parse_period
from scheduler.errors import InputError
from scheduler.model import CouncilKind
from storage import audit
from storage.models import Council
from storage.results import ResultValue

COLUMNS = ("jobcentre", "measure", "period", "value")
DANISH_COLUMNS = ("jobcenter", "mål", "periode", "værdi")
_ALIASES = {
    "jobcenter": "jobcentre",
    "jobcenter/kommune": "jobcentre",
    "kommune": "jobcentre",
    "jobcentre": "jobcentre",
    "mål": "measure",
    "maal": "measure",
    "measure": "measure",
    "periode": "period",
    "period": "period",
    "værdi": "value",
    "vaerdi": "value",
    "value": "value",
}
_XLSX_MAGIC = b"PK\x03\x04"
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f'")

TV = ResultValue.__table__


@dataclass(frozen=True)
class Rejected:
    line: int
    text: str


@dataclass
class ImportReport:
    """What an import did (or, with rejections and no ``skip_bad``, would have done)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    saved: bool = False
    #: The measures whose figures changed: the check looks at these.
    measures: set[str] = field(default_factory=set)
    #: Every stored figure of the file's jobcentres and measures after the import, by
    #: (council id, measure): the check reads these instead of the table again.
    values: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    councils: set[int] = field(default_factory=set)
    covered: set[str] = field(default_factory=set)


def _column(heading: object) -> str:
    name = unicodedata.normalize("NFC", str(heading or "").strip().lower()).lstrip("\ufeff")
    return _ALIASES.get(name, name)


def read_table(data: bytes, language: str) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) of a CSV or XLSX file, the heading line first.

    Raises:
        InputError: not CSV or XLSX, or not readable as such.
    """
    if data.startswith(_XLSX_MAGIC):
        yield from _xlsx_rows(data, language)
        return
    try:
        text = decode_csv(data)
    except UnicodeDecodeError:
        raise user_error(InputError, "results.import.bad_encoding") from None
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        raise user_error(
            InputError, "results.import.not_csv", line=reader.line_num, why=str(exc)
        ) from None


def _xlsx_rows(data: bytes, language: str) -> Iterator[tuple[int, list[Any]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise user_error(InputError, "results.import.not_xlsx", why=str(exc)[:200]) from None
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        book.close()


def parse_value(raw: object) -> float | None:
    """A number as a spreadsheet holds it, or None: ``12,5``, ``1.234,5``, ``12.5``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        number = float(raw)
        return number if math.isfinite(number) else None
    if isinstance(raw, str) and raw.count(",") + raw.count(".") <= 1 and "_" not in raw:
        # The common case, 12,5 or 12.5: float() after the decimal comma, when it is
        # a plain number (float() also takes "nan", "inf" and "1_0": checked below).
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return None if not raw.strip() else _parse_value_slowly(raw)
        return number if math.isfinite(number) else None
    return _parse_value_slowly(raw)


def _parse_value_slowly(raw: object) -> float | None:
    text = str(raw or "").strip().translate(_SPACES)
    if "," in text and "." in text:
        # The last separator is the decimal one: 1.234,5 (Danish) or 1,234.5.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    if not _NUMBER.match(text.replace(",", ".")):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _period_of(raw: object) -> str | None:
    if isinstance(raw, datetime | date):
        # Excel turned "2026-09" into a date.
        return f"{raw.year:04d}-{raw.month:02d}"
    return parse_period(str(raw or ""))


def jobcentre_names(councils: Sequence[CouncilConfig]) -> dict[str, str]:
    """Every name a results file may give an LBR (its key, its municipality, with or
    without "Jobcenter"/"Kommune"), folded, to the LBR's key."""
    names: dict[str, str] = {}
    for council in councils:
        if council.kind is not CouncilKind.LBR:
            continue
        names[council.key] = council.key
        if council.jobcentre:
            folded = _fold(council.jobcentre)
            names[folded] = council.key
    return names


def _fold(name: str) -> str:
    folded = " ".join(unicodedata.normalize("NFC", name).casefold().split())
    for prefix in ("jobcenter ", "jobcentre "):
        if folded.startswith(prefix):
            folded = folded[len(prefix) :]
    if folded.endswith(" kommune"):
        folded = folded[: -len(" kommune")]
    return folded


async def import_results(
    session: AsyncSession,
    data: bytes,
    *,
    results: ResultsConfig,
    councils: Sequence[CouncilConfig],
    now: datetime,
    actor: str,
    language: str,
    skip_bad: bool = False,
    dry_run: bool = False,
    max_cell: int = 2000,
) -> ImportReport:
    """Read a results file and store its figures in ``session`` (the caller commits).

    Raises:
        InputError: the file as a whole cannot be read (encoding, heading, too many
            rows); nothing is changed.
    """
    rows = read_table(data, language)
    header = next(rows, None)
    if header is None:
        raise user_error(InputError, "results.import.empty")
    columns = [_column(h) for h in header[1]]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise user_error(
            InputError,
            "results.import.bad_header",
            expected=",".join(COLUMNS),
            danish=",".join(DANISH_COLUMNS),
            missing=", ".join(missing),
        )
    at = [columns.index(c) for c in COLUMNS]
    a0, a1, a2, a3 = at
    width = max(at) + 1
    names = jobcentre_names(councils)
    lbr_keys = {c.key for c in councils if c.kind is CouncilKind.LBR}
    ids = dict(
        (await session.execute(select(Council.key, Council.id).where(col(Council.active)))).all()
    )
    measure_names: dict[str, str] = {}
    for key, measure in results.measures.items():
        measure_names[key] = key
        measure_names[measure.name_da.casefold()] = key
        measure_names[measure.name_en.casefold()] = key
    report = ImportReport()
    #: (council id, measure, period) -> (line, value)
    good: dict[tuple[int, str, str], tuple[int, float]] = {}
    limit = results.import_max_rows
    count = 0
    # A file names few jobcentres, measures and periods many times: each distinct cell
    # is looked up once (None: not known; the reason is worked out for that line).
    seen_jobcentres: dict[object, int | None] = {}
    seen_measures: dict[object, str | None] = {}
    seen_periods: dict[object, str | None] = {}
    for line, cells in rows:
        if len(cells) < width:
            cells = list(cells) + [None] * (width - len(cells))
        if jobcentre_blank(cells[a0]) and all(c in (None, "") for c in cells):
            continue  # a blank line (spreadsheets end with some)
        count += 1
        if count > limit:
            raise user_error(InputError, "results.import.too_many", limit=limit)
        jobcentre, measure, period, value = cells[a0], cells[a1], cells[a2], cells[a3]
        try:
            council_id = seen_jobcentres[jobcentre]
        except KeyError:
            council_id = seen_jobcentres[jobcentre] = _council_id(jobcentre, names, ids)
        except TypeError:  # an unhashable cell cannot be a name
            council_id = None
        try:
            measure_key = seen_measures[measure]
        except KeyError:
            measure_key = seen_measures[measure] = measure_names.get(
                str(measure if measure is not None else "").strip().casefold()
            )
        try:
            canonical = seen_periods[period]
        except KeyError:
            canonical = seen_periods[period] = _period_of(period)
        if value.__class__ is str and "_" not in value:
            # The common case inline (12,5 or 12.5); float() takes "nan", "inf" and
            # "1_0" too: the first two are not finite, the last is excluded above.
            try:
                number = float(value.replace(",", "."))  # type: ignore[attr-defined]
            except ValueError:
                number = parse_value(value)
            else:
                if not math.isfinite(number):
                    number = None
        else:
            number = parse_value(value)
        if council_id is None or measure_key is None or canonical is None or number is None:
            why = _refusal(jobcentre, measure, period, value, max_cell, language)
            if why is None and council_id is None:
                known = str(jobcentre).strip()
                why = t(
                    language,
                    "results.reject.not_lbr"
                    if known in ids and known not in lbr_keys
                    else "results.reject.jobcentre",
                    jobcentre=known,
                )
            if why is None:
                why = t(
                    language,
                    "results.reject.measure",
                    measure=str(measure).strip(),
                    known=", ".join(results.measures) or "-",
                )
            report.rejected.append(Rejected(line, why))
            continue
        row_key = (council_id, measure_key, canonical)
        before = good.get(row_key)
        if before is not None:
            if before[1] != number:
                report.rejected.append(
                    Rejected(line, t(language, "results.reject.twice", first=before[0]))
                )
            continue
        good[row_key] = (line, number)
    if report.rejected and not skip_bad:
        return report
    await _store(session, good, report, now=now, actor=actor, dry_run=dry_run)
    return report


def _council_id(cell: object, names: dict[str, str], ids: dict[str, int]) -> int | None:
    text = str(cell if cell is not None else "").strip()
    key = names.get(text) or names.get(_fold(text))
    return ids.get(key) if key is not None else None


def _refusal(
    jobcentre: object, measure: object, period: object, value: object, max_cell: int, lang: str
) -> str | None:
    """Why a row's cells cannot be read, or None (the names are looked up after)."""
    for name, cell in (("jobcentre", jobcentre), ("measure", measure), ("period", period)):
        text = str(cell if cell is not None else "").strip()
        if not text:
            return t(lang, "results.reject.empty", column=name)
        if len(text) > max_cell:
            return t(lang, "results.reject.long_cell", column=name, limit=max_cell)
    if _period_of(period) is None:
        return t(lang, "results.reject.period", period=str(period).strip())
    if value is None or str(value).strip() == "" or parse_value(value) is None:
        shown = str(value if value is not None else "").strip()[:40]
        return t(lang, "results.reject.value", value=shown)
    return None


_COLUMNS = ("council_id", "measure", "period", "value", "created_at", "updated_at")
_INSERT = f"INSERT INTO result_value ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
_UPDATE = text("UPDATE result_value SET value = :v, updated_at = :t WHERE id = :i")


async def _insert_rows(
    session: AsyncSession, rows: list[tuple[int, str, str, float]], now: datetime
) -> None:
    """The new figures, straight to the driver (in the session's transaction): COPY on
    PostgreSQL, the driver's executemany on SQLite, with the instant converted once.
    A hundred thousand figures are otherwise mostly SQLAlchemy's per-row work."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "result_value", records=[(*r, now, now) for r in rows], columns=_COLUMNS
        )
        return
    stamp = _bound_instant(session, now)
    await connection.exec_driver_sql(_INSERT, [(*r, stamp, stamp) for r in rows])


def _bound_instant(session: AsyncSession, now: datetime) -> Any:
    """``now`` as the ``created_at`` column hands it to this database's driver."""
    dialect = session.get_bind().dialect
    column = TV.c.created_at.type
    value = column.process_bind_param(now, dialect)  # type: ignore[attr-defined]
    processor = dialect.type_descriptor(column.impl).bind_processor(dialect)  # type: ignore[attr-defined]
    return processor(value) if processor else value


def jobcentre_blank(cell: object) -> bool:
    return cell is None or cell == ""


async def _store(
    session: AsyncSession,
    rows: dict[tuple[int, str, str], tuple[int, float]],
    report: ImportReport,
    *,
    now: datetime,
    actor: str,
    dry_run: bool,
) -> None:
    """Insert the new figures, update the changed ones (each audited), skip the rest.

    Args:
        rows: (council id, measure, period) -> (line, value), each once.
    """
    councils = {key[0] for key in rows}
    measures = {key[1] for key in rows}
    existing: dict[tuple[int, str, str], tuple[int, float]] = {}
    if rows:
        found = await session.execute(
            select(TV.c.id, TV.c.council_id, TV.c.measure, TV.c.period, TV.c.value).where(
                TV.c.measure.in_(sorted(measures)), TV.c.council_id.in_(sorted(councils))
            )
        )
        for row_id, council_id, measure, period, value in found:
            existing[(council_id, measure, period)] = (row_id, value)
    inserts: list[tuple[int, str, str, float]] = []
    updates: list[dict[str, Any]] = []
    changed: set[str] = set()
    for key, (line, value) in rows.items():
        here = existing.get(key)
        if here is None:
            inserts.append((*key, value))
        elif here[1] != value:
            updates.append({"i": here[0], "v": value})
            changed.add(key[1])
            if not dry_run:
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="result.updated",
                    entity="result_value",
                    entity_id=here[0],
                    line=line,
                    council_id=key[0],
                    measure=key[1],
                    period=key[2],
                    old=here[1],
                    new=value,
                )
        else:
            report.unchanged += 1
    report.measures = changed | {r[1] for r in inserts}
    report.added, report.updated = len(inserts), len(updates)
    if dry_run:
        return
    values: dict[tuple[int, str], dict[str, float]] = {}
    for (council_id, measure, period), (_, value) in existing.items():
        values.setdefault((council_id, measure), {})[period] = value
    for (council_id, measure, period), (_, value) in rows.items():
        values.setdefault((council_id, measure), {})[period] = value
    report.values, report.councils, report.covered = values, councils, measures
    if inserts:
        await _insert_rows(session, inserts, now)
    if updates:
        stamp = _bound_instant(session, now)
        for change in updates:
            change["t"] = stamp
        await session.execute(_UPDATE, updates)
    if inserts or updates:
        audit.record(
            session,
            at=now,
            actor=actor,
            action="result.imported",
            entity="result_value",
            entity_id="-",
            added=len(inserts),
            updated=len(updates),
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        )
    report.saved = True
