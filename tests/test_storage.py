"""Storage and the use cases on it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.config import CouncilConfig, load_config
from bot.services.councils import get_council, list_councils, sync_councils
from bot.services.cycle import instantiate_year, move_event, year_events
from scheduler.clock import FixedClock
from scheduler.errors import InputError, NotFoundError
from scheduler.template import load_template, parse_template
from scheduler.workdays import WorkingCalendar
from storage.db import Database, DatabaseError
from storage.models import AuditLog, Council, CycleEvent
from tests.conftest import REPO, snapshot

TEMPLATE = load_template("default")
CALENDAR = WorkingCalendar()
COUNCILS = load_config(environ={}, cwd=REPO).settings.councils


async def _setup(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as s:
        await sync_councils(s, COUNCILS, now=clock.now(), actor="test")


async def _stored_year(db: Database, clock: FixedClock) -> Council:
    """The configured councils, with LBR Gribskov's 2027 stored."""
    await _setup(db, clock)
    async with db.transaction() as s:
        council = await get_council(s, "lbr-gribskov")
        await instantiate_year(s, council, 2027, TEMPLATE, CALENDAR, now=clock.now(), actor="t")
    return council


async def test_fresh_database_is_refused_until_upgraded(database_url: str) -> None:
    database = Database(database_url)
    try:
        with pytest.raises(DatabaseError) as info:
            await database.check_schema()
        # A missing SQLite file is named as such (and not created); a fresh PostgreSQL
        # database exists but has no schema.
        expected = "db.no_database" if database.is_sqlite else "db.not_initialised"
        assert info.value.key == expected
        await database.upgrade()
        await database.check_schema()
        await database.upgrade()  # a second upgrade is a no-op
        await database.check_schema()
    finally:
        await database.dispose()


async def test_sqlite_in_missing_folder_gives_clear_error(tmp_path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        Database(f"sqlite+aiosqlite:///{tmp_path}/nope/x.db")


async def test_datetimes_round_trip_as_utc(db: Database) -> None:
    cet = timezone(timedelta(hours=1))
    moment = datetime(2027, 3, 28, 1, 30, tzinfo=cet)  # the night Denmark moves to CEST
    async with db.transaction() as s:
        s.add(AuditLog(at=moment, actor="a", action="x", entity="e", entity_id="1"))
    async with db.session() as s:
        stored = (await s.exec(select(AuditLog))).one()
    assert stored.at == moment
    assert stored.at.tzinfo is not None and stored.at.utcoffset() == timedelta(0)
    assert stored.at.hour == 0 and stored.at.minute == 30


async def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(Exception, match="timezone-aware"):
        async with db.transaction() as s:
            s.add(
                AuditLog(at=datetime(2027, 1, 1), actor="a", action="x", entity="e", entity_id="1")
            )
    assert (await snapshot(db))["audit_log"] == []


async def test_council_key_is_unique(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with db.transaction() as s:
        s.add(Council(key="lbr-x", kind="LBR", name="X", created_at=now, updated_at=now))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(Council(key="lbr-x", kind="LBR", name="Y", created_at=now, updated_at=now))
    async with db.session() as s:
        assert [c.name for c in (await s.exec(select(Council))).all()] == ["X"]


async def test_sync_councils_adds_updates_and_deactivates(db: Database, clock: FixedClock) -> None:
    await _setup(db, clock)
    async with db.session() as s:
        councils = await list_councils(s)
        gribskov = await get_council(s, "LBR-Gribskov ")  # keys are matched case-insensitively
        region = await get_council(s, "rbr-hovedstaden-sjaelland")
    assert len(councils) == len(COUNCILS)
    assert gribskov.region_id == region.id
    assert gribskov.slack_channel == "lbr-gribskov"

    changed = tuple(
        c.model_copy(update={"name": "LBR Gribskov Kommune"}) if c.key == "lbr-gribskov" else c
        for c in COUNCILS
        if c.key != "lbr-aalborg"
    )
    async with db.transaction() as s:
        report = await sync_councils(s, changed, now=clock.now(), actor="test")
    assert report.updated == ["lbr-gribskov"]
    assert report.deactivated == ["lbr-aalborg"]
    assert report.added == []
    async with db.session() as s:
        with pytest.raises(NotFoundError) as info:
            await get_council(s, "lbr-aalborg")
        assert "lbr-gribskov" in str(info.value)
        actions = [a.action for a in (await s.exec(select(AuditLog).order_by(AuditLog.id))).all()]
    assert actions.count("council.added") == len(COUNCILS)
    assert "council.updated" in actions and "council.deactivated" in actions

    async with db.transaction() as s:
        again = await sync_councils(s, changed, now=clock.now(), actor="test")
    assert again.updated == again.added == again.deactivated == []


async def test_new_council_kind_must_be_valid_config() -> None:
    with pytest.raises(ValueError):
        CouncilConfig(key="x-1", kind="XYZ", name="X")  # type: ignore[arg-type]


async def test_instantiate_year_is_idempotent(db: Database, clock: FixedClock) -> None:
    await _setup(db, clock)
    async with db.transaction() as s:
        council = await get_council(s, "lbr-gribskov")
        first = await instantiate_year(
            s, council, 2027, TEMPLATE, CALENDAR, now=clock.now(), actor="t"
        )
    before = await snapshot(db)
    async with db.transaction() as s:
        second = await instantiate_year(
            s, council, 2027, TEMPLATE, CALENDAR, now=clock.now(), actor="t"
        )
    assert first.created == 10 and first.updated == 0
    assert second.created == 0 and second.updated == 0 and second.unchanged == 10
    assert await snapshot(db) == before


async def test_calendar_change_recomputes_and_bumps_sequence(
    db: Database, clock: FixedClock
) -> None:
    council = await _stored_year(db, clock)
    # A local office holiday on the day of the hearing deadline moves it one day earlier.
    closed = WorkingCalendar(extra_closed=[date(2027, 8, 31)])
    async with db.transaction() as s:
        result = await instantiate_year(
            s, council, 2027, TEMPLATE, closed, now=clock.now(), actor="t"
        )
        rows = {r.template_key: r for r in await year_events(s, council, 2027)}
    assert result.updated >= 1
    assert rows["employment_plan_hearing"].date == date(2027, 8, 30)
    assert rows["employment_plan_hearing"].sequence == 1
    assert rows["targets"].sequence == 0


async def test_move_event_moves_dependents_and_is_audited(db: Database, clock: FixedClock) -> None:
    await _setup(db, clock)
    async with db.transaction() as s:
        council = await get_council(s, "lbr-gribskov")
        result = await move_event(
            s,
            council,
            2027,
            "employment_plan_hearing",
            date(2027, 9, 3),
            "Rådsmødet er flyttet",
            TEMPLATE,
            CALENDAR,
            now=clock.now(),
            actor="Sekretær Sofie",
        )
    assert result.old == date(2027, 8, 31)
    assert {(f.key, f.old, f.new) for f in result.followers} == {
        ("business_plan", date(2027, 8, 17), date(2027, 8, 20)),
        ("region_comments", date(2027, 9, 21), date(2027, 9, 24)),
    }
    async with db.session() as s:
        rows = {r.template_key: r for r in await year_events(s, council, 2027)}
        audit = (await s.exec(select(AuditLog).where(AuditLog.action == "cycle_event.moved"))).one()
    moved = rows["employment_plan_hearing"]
    assert moved.date == moved.override_date == date(2027, 9, 3)
    assert moved.override_by == "Sekretær Sofie"
    assert moved.override_reason == "Rådsmødet er flyttet"
    assert moved.override_at == clock.now()
    assert moved.status == "moved" and moved.sequence == 1
    assert rows["business_plan"].override_date is None
    assert rows["business_plan"].status == "moved"
    assert rows["targets"].date == date(2027, 4, 15) and rows["targets"].status == "planned"
    details = json.loads(audit.details)
    assert audit.actor == "Sekretær Sofie"
    assert details["old"] == "2027-08-31" and details["new"] == "2027-09-03"
    assert {f["event"] for f in details["followers"]} == {"business_plan", "region_comments"}

    # The override survives a re-instantiation (aarshjul init again).
    async with db.transaction() as s:
        again = await instantiate_year(
            s, council, 2027, TEMPLATE, CALENDAR, now=clock.now(), actor="t"
        )
    assert again.updated == 0


async def test_move_creates_year_that_was_not_stored(db: Database, clock: FixedClock) -> None:
    await _setup(db, clock)
    async with db.transaction() as s:
        council = await get_council(s, "lbr-odense")
        await move_event(
            s,
            council,
            2030,
            "targets",
            date(2030, 4, 24),
            "Udskudt",
            TEMPLATE,
            CALENDAR,
            now=clock.now(),
            actor="t",
        )
        rows = {r.template_key: r for r in await year_events(s, council, 2030)}
    assert len(rows) == 10
    assert rows["targets"].date == date(2030, 4, 24)
    # Six weeks later is 5 June, Constitution Day: a meeting moves to the next working day.
    assert rows["plan_seminar"].date == date(2030, 6, 6)


@pytest.mark.parametrize(
    ("event", "new", "reason", "error", "key"),
    [
        ("targets", date(2027, 6, 5), "x", InputError, "cycle.move.closed_day"),  # Grundlovsdag
        ("targets", date(2027, 4, 17), "x", InputError, "cycle.move.closed_day"),  # Saturday
        ("targets", date(2027, 4, 15), "x", InputError, "cycle.move.same_date"),
        ("targets", date(2027, 4, 20), "   ", InputError, "cycle.move.no_reason"),
        ("targets", date(2027, 4, 20), "x" * 1001, InputError, "cycle.move.reason_too_long"),
        ("nope", date(2027, 4, 20), "x", NotFoundError, "cycle.unknown_event"),
        ("contract", date(2027, 12, 14), "x", NotFoundError, "cycle.unknown_event"),  # RBR only
    ],
)
async def test_bad_moves_are_refused_and_change_nothing(
    db: Database, clock: FixedClock, event: str, new: date, reason: str, error: type, key: str
) -> None:
    council = await _stored_year(db, clock)
    before = await snapshot(db)
    with pytest.raises(error) as info:
        async with db.transaction() as s:
            await move_event(
                s,
                council,
                2027,
                event,
                new,
                reason,
                TEMPLATE,
                CALENDAR,
                now=clock.now(),
                actor="t",
            )
    assert info.value.key == key
    assert await snapshot(db) == before


async def test_cycle_event_unique_per_council_year_and_key(db: Database, clock: FixedClock) -> None:
    await _setup(db, clock)
    now = clock.now()
    async with db.session() as s:
        council = await get_council(s, "lbr-holbaek")
    row = {
        "council_id": council.id,
        "year": 2027,
        "template_key": "targets",
        "type": "deadline",
        "owner": "ministry",
        "title_da": "x",
        "title_en": "x",
        "date": date(2027, 4, 15),
        "computed_date": date(2027, 4, 15),
        "created_at": now,
        "updated_at": now,
    }
    async with db.transaction() as s:
        s.add(CycleEvent(**row))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(CycleEvent(**row))


def test_fixed_clock_is_utc() -> None:
    clock = FixedClock(datetime(2027, 1, 1, 12, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2027, 1, 1, 11, tzinfo=UTC)
    with pytest.raises(ValueError):
        FixedClock(datetime(2027, 1, 1))


async def test_events_dropped_from_the_template_are_removed_and_audited(
    db: Database, clock: FixedClock
) -> None:
    council = await _stored_year(db, clock)
    text = (REPO / "scheduler" / "templates" / "default.toml").read_text()
    start = text.index('[[events]]\nkey = "business_plan"')
    end = text.index("[[events]]", start + 1)
    smaller = parse_template(text[:start] + text[end:], "smaller.toml")
    async with db.transaction() as s:
        result = await instantiate_year(
            s, council, 2027, smaller, CALENDAR, now=clock.now(), actor="t"
        )
        keys = {r.template_key for r in await year_events(s, council, 2027)}
        removed = (
            await s.exec(select(AuditLog).where(AuditLog.action == "cycle_event.removed"))
        ).one()
    assert result.removed == 1 and result.created == 0
    assert "business_plan" not in keys and len(keys) == 9
    assert removed.entity_id == "lbr-gribskov/2027/business_plan"


async def test_migrations_match_the_models(db: Database) -> None:
    """A model change without a migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
