"""storage.outbox: every state transition of an outbox row, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from scheduler.planner import Kind, PlannedNotification
from storage import outbox
from storage.db import Database
from storage.models import Council, OutboxMessage

T0 = datetime(2027, 8, 11, 6, 0, tzinfo=UTC)  # Wednesday 08:00 in Copenhagen
LEASE = timedelta(minutes=5)


@pytest.fixture
async def council_id(db: Database) -> int:
    async with db.transaction() as s:
        council = Council(key="lbr-test", kind="LBR", name="LBR Test", created_at=T0, updated_at=T0)
        s.add(council)
        await s.flush()
        assert council.id is not None
        return council.id


def note(
    key: str,
    due: datetime,
    *,
    council_id: int | None = None,
    group: str | None = None,
    kind: Kind = Kind.REMINDER,
    source: str | None = None,
    channel: str = "email",
    address: str = "anne@example.dk",
    quiet: bool = True,
    expires: datetime | None = None,
    title: str = "Mål",
) -> PlannedNotification:
    return PlannedNotification(
        key=key,
        group_key=group or key,
        kind=kind,
        source=source or key.split("/")[0],
        council_id=council_id,
        person_id=None,
        channel=channel,
        address=address,
        language="da",
        message="reminder",
        params={"title_da": title, "deadline": "2027-08-31"},
        due_at=due,
        expires_at=expires,
        quiet=quiet,
    )


async def enqueue(db: Database, *planned: PlannedNotification, now: datetime = T0) -> int:
    async with db.transaction() as s:
        return await outbox.enqueue(s, planned, now=now)


async def rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.session() as s:
        found = await s.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return {r.key: r for r in found.scalars()}


async def claim(
    db: Database,
    *,
    worker: str = "w1",
    now: datetime = T0,
    limit: int = 100,
    channels: Sequence[str] = ("email", "slack"),
    quiet_allowed: bool = True,
    lease: timedelta = LEASE,
) -> list[OutboxMessage]:
    async with db.transaction() as s:
        return await outbox.claim(
            s,
            worker=worker,
            now=now,
            lease=lease,
            limit=limit,
            channels=list(channels),
            quiet_allowed=quiet_allowed,
        )


async def record(db: Database, *outcomes: outbox.Outcome, worker: str, now: datetime) -> int:
    async with db.transaction() as s:
        return await outbox.record(s, outcomes, worker=worker, now=now)


async def send(db: Database, key: str, *, now: datetime = T0) -> OutboxMessage:
    """Claim exactly the row ``key`` (it must be the only due one) and record it sent."""
    claimed = await claim(db, worker="sender", now=now)
    assert [r.key for r in claimed] == [key]
    assert await record(
        db,
        outbox.Outcome(claimed[0].id or 0, outbox.SENT, external_id="<x@y>"),
        worker="sender",
        now=now,
    )
    return (await rows(db))[key]


# --- enqueue ----------------------------------------------------------------------------


async def test_enqueue_is_idempotent_by_key(db: Database) -> None:
    first = note("cycle:1/d7/email/person:1", T0)
    assert await enqueue(db, first) == 1
    assert await enqueue(db, first) == 0
    # Even with another due time or text: the key decides.
    assert await enqueue(db, note(first.key, T0 + timedelta(days=3), title="Andet")) == 0
    assert await enqueue(db, first, note("cycle:1/d1/email/person:1", T0)) == 1
    stored = await rows(db)
    assert sorted(stored) == ["cycle:1/d1/email/person:1", "cycle:1/d7/email/person:1"]
    row = stored[first.key]
    assert row.due_at == T0 and row.state == outbox.PENDING and row.attempts == 0
    assert '"title_da": "Mål"' in row.payload and row.quiet is True


async def test_enqueue_many_rows_in_chunks(db: Database) -> None:
    planned = [note(f"bulk:{i}/d0/email/x", T0) for i in range(1203)]
    assert await enqueue(db, *planned) == 1203
    assert await enqueue(db, *planned) == 0
    assert len(await rows(db)) == 1203


# --- sync_plan ----------------------------------------------------------------------------


async def sync(
    db: Database, planned: list[PlannedNotification], *, now: datetime = T0, **scope: Any
) -> outbox.SyncReport:
    async with db.transaction() as s:
        return await outbox.sync_plan(s, planned, now=now, **scope)


def hearing(council_id: int, due: datetime) -> list[PlannedNotification]:
    return [
        note(
            f"cycle:1/d{n}/email/person:1",
            due + timedelta(days=i),
            council_id=council_id,
            group="cycle:1/reminder/email/person:1",
            expires=T0 + timedelta(days=30),
        )
        for i, n in enumerate((14, 7, 1))
    ]


async def test_sync_plan_inserts_moves_pending_rows_and_withdraws_the_rest(
    db: Database, council_id: int
) -> None:
    due = T0 + timedelta(days=1)
    plan = hearing(council_id, due)
    report = await sync(db, plan, source_prefix="cycle:", council_ids=[council_id])
    assert (report.inserted, report.updated, report.withdrawn) == (3, 0, 0)
    before = await rows(db)

    # The same plan again changes nothing at all.
    report = await sync(db, plan, source_prefix="cycle:", council_ids=[council_id])
    assert (report.inserted, report.updated, report.withdrawn) == (0, 0, 0)
    assert {k: (r.due_at, r.updated_at) for k, r in (await rows(db)).items()} == {
        k: (r.due_at, r.updated_at) for k, r in before.items()
    }

    # The deadline moved by a week, and the 1-day reminder is no longer wanted.
    later = T0 + timedelta(hours=1)
    moved = hearing(council_id, due + timedelta(days=7))[:2]
    report = await sync(db, moved, source_prefix="cycle:", council_ids=[council_id], now=later)
    assert (report.inserted, report.updated, report.withdrawn) == (0, 2, 1)
    after = await rows(db)
    for p in moved:
        assert after[p.key].id == before[p.key].id
        assert after[p.key].due_at == p.due_at
        assert after[p.key].state == outbox.PENDING
        assert after[p.key].updated_at == later
    gone = after["cycle:1/d1/email/person:1"]
    assert gone.state == outbox.SKIPPED
    assert (gone.last_error or "").startswith("withdrawn")
    assert gone.due_at == before[gone.key].due_at


async def test_sync_plan_updates_address_and_text_of_pending_rows(
    db: Database, council_id: int
) -> None:
    plan = [note("cycle:1/d7/email/person:1", T0, council_id=council_id)]
    await sync(db, plan, source_prefix="cycle:")
    changed = [note(plan[0].key, T0, council_id=council_id, address="a@new.dk", title="Nyt")]
    report = await sync(db, changed, source_prefix="cycle:")
    assert report.updated == 1
    row = (await rows(db))[plan[0].key]
    assert row.address == "a@new.dk" and '"title_da": "Nyt"' in row.payload


async def test_sync_plan_never_touches_a_sent_row(db: Database, council_id: int) -> None:
    key = "cycle:1/d14/email/person:1"
    plan = [note(key, T0, council_id=council_id, expires=T0 + timedelta(days=30))]
    await sync(db, plan, source_prefix="cycle:", council_ids=[council_id])
    sent = await send(db, key, now=T0 + timedelta(minutes=1))
    assert sent.state == outbox.SENT and sent.sent_at == T0 + timedelta(minutes=1)

    # Re-planned with another time, and then not planned at all: the row stays as sent.
    later = T0 + timedelta(hours=2)
    moved = [note(key, T0 + timedelta(days=5), council_id=council_id)]
    report = await sync(db, moved, source_prefix="cycle:", council_ids=[council_id], now=later)
    assert (report.inserted, report.updated, report.withdrawn) == (0, 0, 0)
    report = await sync(db, [], source_prefix="cycle:", council_ids=[council_id], now=later)
    assert (report.inserted, report.updated, report.withdrawn) == (0, 0, 0)
    row = (await rows(db))[key]
    assert row.state == outbox.SENT
    assert row.sent_at == sent.sent_at
    assert row.due_at == T0
    assert row.updated_at == sent.updated_at


async def test_sync_plan_withdraws_only_within_its_scope(db: Database, council_id: int) -> None:
    async with db.transaction() as s:
        other = Council(key="lbr-other", kind="LBR", name="Other", created_at=T0, updated_at=T0)
        s.add(other)
        await s.flush()
        other_id = other.id
    await enqueue(
        db,
        note("cycle:1/d7/email/a", T0, council_id=council_id),
        note("cycle:2/d7/email/a", T0, council_id=other_id),
        note("hearing:1/d7/email/a", T0, council_id=council_id),
        note("digest:person:1/w2027-32/email", T0, kind=Kind.DIGEST),
    )
    report = await sync(db, [], source_prefix="cycle:", council_ids=[council_id])
    assert report.withdrawn == 1
    states = {k: r.state for k, r in (await rows(db)).items()}
    assert states == {
        "cycle:1/d7/email/a": outbox.SKIPPED,
        "cycle:2/d7/email/a": outbox.PENDING,
        "hearing:1/d7/email/a": outbox.PENDING,
        "digest:person:1/w2027-32/email": outbox.PENDING,
    }
    # A prefix is a prefix, not a pattern: "cycle_" does not match "cycle:" rows.
    assert (await sync(db, [], source_prefix="cycle_")).withdrawn == 0
    assert (await sync(db, [], sources=["hearing:1"])).withdrawn == 1


# --- claim ------------------------------------------------------------------------------


async def test_claim_takes_due_rows_oldest_first_and_marks_them(db: Database) -> None:
    await enqueue(
        db,
        note("b/d0/email/x", T0 - timedelta(minutes=1)),
        note("a/d0/email/x", T0 - timedelta(hours=2)),
        note("c/d0/email/x", T0),
        note("future/d0/email/x", T0 + timedelta(seconds=1)),
    )
    claimed = await claim(db, worker="w1")
    assert [r.key for r in claimed] == ["a/d0/email/x", "b/d0/email/x", "c/d0/email/x"]
    for r in claimed:
        assert r.state == outbox.SENDING
        assert r.claimed_by == "w1"
        assert r.lease_until == T0 + LEASE
        assert r.attempts == 1
        assert r.updated_at == T0
    stored = await rows(db)
    assert stored["a/d0/email/x"].state == outbox.SENDING
    assert stored["a/d0/email/x"].claimed_by == "w1"
    assert stored["a/d0/email/x"].lease_until == T0 + LEASE
    assert stored["a/d0/email/x"].attempts == 1
    # The future row is not due yet; a second claim finds nothing else.
    assert stored["future/d0/email/x"].state == outbox.PENDING
    assert await claim(db, worker="w2") == []
    claimed = await claim(db, worker="w2", now=T0 + timedelta(seconds=1))
    assert [r.key for r in claimed] == ["future/d0/email/x"]


async def test_claim_respects_the_batch_limit_taking_the_oldest(
    db: Database, request: pytest.FixtureRequest
) -> None:
    await enqueue(db, *[note(f"r{i}/d0/email/x", T0 - timedelta(minutes=i)) for i in range(10)])
    claimed = await claim(db, worker="w1", limit=3)
    assert [r.key for r in claimed] == ["r9/d0/email/x", "r8/d0/email/x", "r7/d0/email/x"]
    states = {k: r.state for k, r in (await rows(db)).items()}
    assert sorted(k for k, v in states.items() if v == outbox.SENDING) == [
        "r7/d0/email/x",
        "r8/d0/email/x",
        "r9/d0/email/x",
    ]
    assert list(states.values()).count(outbox.PENDING) == 7
    assert len(await claim(db, worker="w2", limit=3)) == 3


async def test_two_concurrent_claims_split_the_batch(
    db: Database, request: pytest.FixtureRequest
) -> None:
    await enqueue(db, *[note(f"r{i:03d}/d0/email/x", T0) for i in range(100)])
    first, second = await asyncio.gather(
        claim(db, worker="w1", limit=50), claim(db, worker="w2", limit=50)
    )
    assert len(first) == len(second) == 50


async def test_claim_outside_working_hours_takes_only_unscheduled_rows(db: Database) -> None:
    await enqueue(
        db,
        note("quiet/d0/email/x", T0, quiet=True),
        note("loud/d0/email/x", T0, quiet=False),
    )
    claimed = await claim(db, quiet_allowed=False)
    assert [r.key for r in claimed] == ["loud/d0/email/x"]
    assert await claim(db, quiet_allowed=False) == []
    assert [r.key for r in await claim(db, quiet_allowed=True)] == ["quiet/d0/email/x"]


async def test_claim_only_for_the_workers_channels(db: Database) -> None:
    await enqueue(
        db,
        note("a/d0/slack/x", T0, channel="slack", address="#lbr-test"),
        note("b/d0/email/x", T0),
    )
    claimed = await claim(db, channels=["email"])
    assert [r.key for r in claimed] == ["b/d0/email/x"]
    assert await claim(db, channels=["email"]) == []
    assert (await rows(db))["a/d0/slack/x"].state == outbox.PENDING
    assert [r.key for r in await claim(db, channels=["slack"])] == ["a/d0/slack/x"]


async def test_claim_ignores_rows_in_other_states(db: Database) -> None:
    await enqueue(db, note("a/d0/email/x", T0))
    [row] = await claim(db)
    await record(db, outbox.Outcome(row.id or 0, outbox.FAILED, "550"), worker="w1", now=T0)
    assert await claim(db) == []


async def test_concurrent_claims_never_return_the_same_row(db: Database) -> None:
    total = 120
    await enqueue(db, *[note(f"r{i:03d}/d0/email/x", T0) for i in range(total)])

    async def one(worker: str) -> list[int]:
        return [r.id or 0 for r in await claim(db, worker=worker, limit=50)]

    first, second = await asyncio.gather(one("w1"), one("w2"))
    assert first or second
    assert not set(first) & set(second)

    # Workers racing until nothing is left: every row claimed exactly once.
    async def loop(worker: str) -> list[int]:
        mine: list[int] = []
        while batch := await claim(db, worker=worker, limit=7):
            mine += [r.id or 0 for r in batch]
        return mine

    rest = await asyncio.gather(*(loop(f"w{i}") for i in range(3, 7)))
    everything = first + second + [i for r in rest for i in r]
    assert len(everything) == len(set(everything)) == total
    # Each row says which worker holds it, and that is the one that got it.
    holder = {r.id: r.claimed_by for r in (await rows(db)).values()}
    assert {holder[i] for i in first} <= {"w1"}
    assert {holder[i] for i in second} <= {"w2"}
    for n, mine in enumerate(rest, start=3):
        assert {holder[i] for i in mine} <= {f"w{n}"}
    assert {r.attempts for r in (await rows(db)).values()} == {1}


async def test_postgres_claim_skips_rows_locked_by_an_open_claim(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time; the open transaction would block")
    await enqueue(db, *[note(f"r{i}/d0/email/x", T0) for i in range(3)])
    await enqueue(db, *[note(f"s{i}/d0/email/x", T0 + timedelta(hours=1)) for i in range(3)])
    async with db.transaction() as held:
        first = await outbox.claim(
            held, worker="w1", now=T0, lease=LEASE, limit=10, channels=["email"], quiet_allowed=True
        )
        # w1 has not committed: w2 neither waits for its locks nor gets its rows.
        later = T0 + timedelta(hours=1)
        second = await asyncio.wait_for(claim(db, worker="w2", now=later), timeout=10)
    assert sorted(r.key for r in first) == ["r0/d0/email/x", "r1/d0/email/x", "r2/d0/email/x"]
    assert sorted(r.key for r in second) == ["s0/d0/email/x", "s1/d0/email/x", "s2/d0/email/x"]
    states = {r.key: r.claimed_by for r in (await rows(db)).values()}
    assert states == {
        **{f"r{i}/d0/email/x": "w1" for i in range(3)},
        **{f"s{i}/d0/email/x": "w2" for i in range(3)},
    }


# --- leases ------------------------------------------------------------------------------


async def test_reclaim_expired_returns_rows_of_dead_workers_to_pending(db: Database) -> None:
    await enqueue(db, note("old/d0/email/x", T0), note("new/d0/email/x", T0 + timedelta(minutes=3)))
    [old] = await claim(db, worker="dead")
    [new] = await claim(db, worker="alive", now=T0 + timedelta(minutes=3))

    async def reclaim(now: datetime) -> list[outbox.Reclaimed]:
        async with db.transaction() as s:
            return await outbox.reclaim_expired(s, now=now)

    assert await reclaim(T0 + LEASE - timedelta(seconds=1)) == []
    assert await reclaim(T0 + LEASE) == []  # the lease runs until its last instant
    found = await reclaim(T0 + LEASE + timedelta(seconds=1))
    assert found == [outbox.Reclaimed(old.id or 0, "old/d0/email/x", "dead")]
    stored = await rows(db)
    assert stored["old/d0/email/x"].state == outbox.PENDING
    assert (stored["old/d0/email/x"].last_error or "").startswith("reclaimed")
    assert stored["old/d0/email/x"].attempts == 1
    assert stored["new/d0/email/x"].state == outbox.SENDING
    assert stored["new/d0/email/x"].claimed_by == "alive"
    # The reclaimed row is claimable again, by another worker, and counts its attempt.
    [again] = await claim(db, worker="heir", now=T0 + timedelta(minutes=6))
    assert again.id == old.id and again.attempts == 2 and again.claimed_by == "heir"
    assert new.id != old.id


async def test_extend_lease_only_for_the_holder(db: Database) -> None:
    await enqueue(db, note("a/d0/email/x", T0))
    [row] = await claim(db, worker="w1")
    until = T0 + timedelta(minutes=20)
    async with db.transaction() as s:
        assert await outbox.extend_lease(s, [row.id or 0], worker="w2", until=until) == 0
        assert await outbox.extend_lease(s, [row.id or 0], worker="w1", until=until) == 1
    assert (await rows(db))["a/d0/email/x"].lease_until == until


async def test_record_only_updates_rows_still_held_by_that_worker(db: Database) -> None:
    await enqueue(db, note("a/d0/email/x", T0), note("b/d0/email/x", T0))
    claimed = {r.key: r for r in await claim(db, worker="w1")}
    a, b = claimed["a/d0/email/x"], claimed["b/d0/email/x"]
    later = T0 + timedelta(seconds=30)
    # Another worker's result for w1's rows is ignored.
    assert await record(db, outbox.Outcome(a.id or 0, outbox.SENT), worker="w2", now=later) == 0
    assert (await rows(db))["a/d0/email/x"].state == outbox.SENDING
    done = await record(
        db,
        outbox.Outcome(a.id or 0, outbox.SENT, external_id="<a@x>"),
        outbox.Outcome(b.id or 0, outbox.PENDING, "421 try later", due_at=T0 + timedelta(hours=1)),
        worker="w1",
        now=later,
    )
    assert done == 2
    stored = await rows(db)
    sent, retry = stored["a/d0/email/x"], stored["b/d0/email/x"]
    assert sent.state == outbox.SENT and sent.sent_at == later and sent.external_id == "<a@x>"
    assert sent.lease_until is None and sent.last_error is None
    assert retry.state == outbox.PENDING and retry.sent_at is None
    assert retry.due_at == T0 + timedelta(hours=1) and retry.last_error == "421 try later"
    # Recording again (a late duplicate) changes nothing: the rows are no longer sending.
    assert await record(db, outbox.Outcome(a.id or 0, outbox.FAILED), worker="w1", now=later) == 0
    assert (await rows(db))["a/d0/email/x"].state == outbox.SENT


async def test_a_late_result_of_a_reclaimed_row_is_ignored(db: Database) -> None:
    await enqueue(db, note("a/d0/email/x", T0))
    [row] = await claim(db, worker="slow")
    expired = T0 + LEASE + timedelta(seconds=1)
    async with db.transaction() as s:
        await outbox.reclaim_expired(s, now=expired)
    [again] = await claim(db, worker="heir", now=expired)
    assert again.id == row.id
    outcome = outbox.Outcome(row.id or 0, outbox.FAILED, "timeout")
    assert await record(db, outcome, worker="slow", now=expired) == 0
    assert await record(db, outbox.Outcome(row.id or 0, outbox.SENT), worker="heir", now=expired)
    assert (await rows(db))["a/d0/email/x"].state == outbox.SENT


# --- housekeeping ---------------------------------------------------------------------------


async def test_skip_stale_skips_pending_rows_whose_deadline_passed(db: Database) -> None:
    end = T0 + timedelta(days=1)
    later = T0 + timedelta(hours=1)
    await enqueue(
        db,
        note("passed/d0/email/x", later, expires=end),
        note("open/d0/email/x", later, expires=end + timedelta(seconds=1)),
        note("never/d0/email/x", later, expires=None),
        note("sent/d0/email/x", T0, expires=end),
    )
    await send(db, "sent/d0/email/x")
    async with db.transaction() as s:
        stale = await outbox.skip_stale(s, now=end)
    assert [k for _, k in stale] == ["passed/d0/email/x"]
    stored = await rows(db)
    assert stored["passed/d0/email/x"].state == outbox.SKIPPED
    assert "stale" in (stored["passed/d0/email/x"].last_error or "")
    assert stored["open/d0/email/x"].state == outbox.PENDING
    assert stored["never/d0/email/x"].state == outbox.PENDING
    assert stored["sent/d0/email/x"].state == outbox.SENT


async def test_skip_superseded_keeps_the_newest_due_reminder_of_a_group(db: Database) -> None:
    group = "cycle:1/reminder/email/person:1"
    await enqueue(
        db,
        note("cycle:1/d14/email/person:1", T0 - timedelta(days=9), group=group),
        note("cycle:1/d7/email/person:1", T0, group=group),
        note("cycle:1/d1/email/person:1", T0 + timedelta(days=6), group=group),
        note("cycle:2/d7/email/person:1", T0 - timedelta(days=1), group="cycle:2/other"),
    )
    async with db.transaction() as s:
        superseded = await outbox.skip_superseded(s, now=T0)
    assert [k for _, k in superseded] == ["cycle:1/d14/email/person:1"]
    stored = await rows(db)
    assert stored["cycle:1/d14/email/person:1"].state == outbox.SKIPPED
    assert (stored["cycle:1/d14/email/person:1"].last_error or "").startswith("superseded")
    assert stored["cycle:1/d7/email/person:1"].state == outbox.PENDING
    assert stored["cycle:1/d1/email/person:1"].state == outbox.PENDING  # not due yet
    assert stored["cycle:2/d7/email/person:1"].state == outbox.PENDING  # another group
    # Once the 1-day reminder is due too, it supersedes the 7-day one.
    async with db.transaction() as s:
        superseded = await outbox.skip_superseded(s, now=T0 + timedelta(days=6))
    assert [k for _, k in superseded] == ["cycle:1/d7/email/person:1"]


async def test_a_sent_newer_reminder_supersedes_an_older_one_retried_later(db: Database) -> None:
    group = "g"
    await enqueue(db, note("x/d1/email/a", T0, group=group))
    await send(db, "x/d1/email/a")
    await enqueue(db, note("x/d7/email/a", T0 - timedelta(days=4), group=group))
    async with db.transaction() as s:
        superseded = await outbox.skip_superseded(s, now=T0)
    assert [k for _, k in superseded] == ["x/d7/email/a"]


async def test_a_digest_is_never_superseded(db: Database) -> None:
    group = "digest:person:1/email"
    await enqueue(
        db,
        note(
            "digest:person:1/w2027-31/email", T0 - timedelta(days=7), group=group, kind=Kind.DIGEST
        ),
        note("digest:person:1/w2027-32/email", T0, group=group, kind=Kind.DIGEST),
    )
    async with db.transaction() as s:
        assert await outbox.skip_superseded(s, now=T0) == []
    assert {r.state for r in (await rows(db)).values()} == {outbox.PENDING}


# --- status and retry -------------------------------------------------------------------


async def test_status_counts_states_and_the_backlog(db: Database) -> None:
    empty_status = await _status(db, T0)
    assert empty_status.counts == dict.fromkeys(outbox.STATES, 0)
    assert empty_status.backlog == 0 and empty_status.oldest_due is None
    await enqueue(
        db,
        note("sent/d0/email/x", T0 - timedelta(hours=5)),
        note("failed/d0/email/x", T0 - timedelta(hours=4)),
        note("sending/d0/email/x", T0 - timedelta(hours=3)),
        note("due/d0/email/x", T0 - timedelta(hours=2)),
        note("future/d0/email/x", T0 + timedelta(hours=1)),
    )
    claimed = {r.key: r for r in await claim(db, worker="w", now=T0 - timedelta(hours=3))}
    await record(
        db,
        outbox.Outcome(claimed["sent/d0/email/x"].id or 0, outbox.SENT),
        outbox.Outcome(claimed["failed/d0/email/x"].id or 0, outbox.FAILED, "550 unknown user"),
        worker="w",
        now=T0 - timedelta(hours=3),
    )
    st = await _status(db, T0)
    assert st.counts == {"pending": 2, "sending": 1, "sent": 1, "failed": 1, "skipped": 0}
    # In flight, and pending and due; the future row is no backlog.
    assert st.backlog == 2
    assert st.oldest_due == T0 - timedelta(hours=3)
    assert [r.key for r in st.failed] == ["failed/d0/email/x"]
    assert st.failed[0].last_error == "550 unknown user"


async def _status(db: Database, now: datetime) -> outbox.OutboxStatus:
    async with db.session() as s:
        return await outbox.status(s, now=now)


async def test_retry_resets_a_failed_row(db: Database) -> None:
    key = "a/d0/email/x"
    await enqueue(db, note(key, T0 - timedelta(days=2), expires=T0 - timedelta(days=1)))
    for attempt in range(3):
        now = T0 - timedelta(days=2) + timedelta(minutes=attempt)
        [row] = await claim(db, worker="w", now=now)
        state = outbox.FAILED if attempt == 2 else outbox.PENDING
        await record(db, outbox.Outcome(row.id or 0, state, "550"), worker="w", now=now)
    failed = (await rows(db))[key]
    assert failed.state == outbox.FAILED and failed.attempts == 3

    async with db.transaction() as s:
        row = await outbox.get(s, failed.id or 0)
        assert row is not None
        await outbox.retry(s, row, now=T0)
    row = (await rows(db))[key]
    assert row.state == outbox.PENDING
    assert row.due_at == T0
    assert row.quiet is False
    assert row.attempts == 0
    assert row.claimed_by is None and row.lease_until is None
    assert row.expires_at is None  # its old deadline must not make it stale at once
    # It is claimable at once, even outside working hours.
    [again] = await claim(db, worker="w2", quiet_allowed=False)
    assert again.id == row.id and again.attempts == 1


async def test_get_unknown_row_is_none(db: Database) -> None:
    async with db.session() as s:
        assert await outbox.get(s, 999999) is None


async def test_next_due_split_separates_scheduled_from_unscheduled(db: Database) -> None:
    await enqueue(
        db,
        note("q1/d0/email/x", T0 + timedelta(hours=2), quiet=True),
        note("q2/d0/email/x", T0 + timedelta(hours=1), quiet=True),
        note("l1/d0/email/x", T0 + timedelta(hours=3), quiet=False),
        note("s1/d0/slack/x", T0, quiet=False, channel="slack"),
    )
    async with db.session() as s:
        loud, quiet, lease = await outbox.next_due_split(s, channels=["email"])
    assert (loud, quiet, lease) == (T0 + timedelta(hours=3), T0 + timedelta(hours=1), None)
    await claim(db, worker="w", now=T0 + timedelta(hours=1), channels=["email"], limit=1)
    async with db.session() as s:
        loud, quiet, lease = await outbox.next_due_split(s, channels=["email"])
    assert quiet == T0 + timedelta(hours=2)
    assert lease == T0 + timedelta(hours=1) + LEASE
