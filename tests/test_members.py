"""Importing members from CSV, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.config import load_config
from bot.services.councils import get_council, sync_councils
from bot.services.members import import_members, list_members
from scheduler.clock import FixedClock
from scheduler.errors import InputError
from storage.db import Database
from storage.models import AuditLog, Membership, Person
from tests.conftest import REPO, snapshot

COUNCILS = load_config(environ={}, cwd=REPO).settings.councils
HEADER = "council,name,email,organisation,role,slack_id\n"


@pytest.fixture
async def councils_db(db: Database, clock: FixedClock) -> Database:
    async with db.transaction() as s:
        await sync_councils(s, COUNCILS, now=clock.now(), actor="test")
    return db


async def _import(db: Database, clock: FixedClock, text: str | bytes, **kw: object):
    data = text.encode() if isinstance(text, str) else text
    async with db.transaction() as s:
        return await import_members(s, data, now=clock.now(), actor="test", **kw)  # type: ignore[arg-type]


async def test_good_rows_land_and_bad_rows_are_reported_by_line(
    councils_db: Database, clock: FixedClock
) -> None:
    csv = (
        HEADER
        + "lbr-gribskov,Anne Andersen,Anne@Example.dk,DA,chair,U0123ABCD\n"
        + "lbr-gribskov,Bo Bech,bo@example,LO,member,\n"  # bad e-mail
        + "lbr-gribskov,Carl Cort,carl@example.dk,LO,medlem,\n"  # Danish role name
        + "lbr-nowhere,Dorte Dal,dorte@example.dk,KL,member,\n"  # unknown council
        + "lbr-gribskov,Eva Eg,eva@example.dk,FTF,boss,\n"  # unknown role
        + "lbr-gribskov,Carl Cort,CARL@example.dk,LO,member,\n"  # duplicate of line 4
        + "lbr-gribskov,,fie@example.dk,AC,member,\n"  # no name
        + "lbr-gribskov,Gert Gram,gert@example.dk,DH,observer,bad-id\n"  # bad slack id
        + "\n"
        + "lbr-holbaek,Anne Andersen,anne@example.dk,DA,member,\n"  # same person, 2nd council
    )
    report = await _import(councils_db, clock, csv)
    outcomes = {r.line: r.outcome for r in report.lines}
    assert outcomes == {
        2: "added",
        3: "rejected",
        4: "added",
        5: "rejected",
        6: "rejected",
        7: "rejected",
        8: "rejected",
        9: "rejected",
        11: "added",
    }
    texts = {r.line: r.text for r in report.lines}
    assert texts == {
        2: "tilføjet Anne Andersen (lbr-gribskov, formand)",
        3: "afvist: ugyldig e-mailadresse 'bo@example'",
        4: "tilføjet Carl Cort (lbr-gribskov, medlem)",
        5: "afvist: ukendt råd 'lbr-nowhere'",
        6: "afvist: ukendt rolle 'boss'; brug en af formand, medlem, sekretær, observatør"
        " (eller på engelsk chair, member, secretary, observer)",
        7: "afvist: samme person og råd som linje 4",
        8: "afvist: kolonnen name er tom",
        9: "afvist: 'bad-id' er ikke et Slack-bruger-id (f.eks. U012AB3CD)",
        11: "tilføjet Anne Andersen (lbr-holbaek, medlem)",
    }
    async with councils_db.session() as s:
        people = (await s.exec(select(Person).order_by(Person.email))).all()
        gribskov = await get_council(s, "lbr-gribskov")
        holbaek = await get_council(s, "lbr-holbaek")
        seats = await list_members(s, gribskov)
        holbaek_seats = await list_members(s, holbaek)
    assert [p.email for p in people] == ["anne@example.dk", "carl@example.dk"]
    assert people[0].slack_id == "U0123ABCD"
    assert {(m.email, m.role, m.organisation) for m in seats} == {
        ("anne@example.dk", "chair", "DA"),
        ("carl@example.dk", "member", "LO"),
    }
    assert [(m.email, m.role) for m in holbaek_seats] == [("anne@example.dk", "member")]


async def test_reimport_updates_and_reports_unchanged(
    councils_db: Database, clock: FixedClock
) -> None:
    await _import(councils_db, clock, HEADER + "lbr-odense,Ib Isen,ib@example.dk,LO,member,\n")
    report = await _import(
        councils_db,
        clock,
        HEADER
        + "lbr-odense,Ib Isen,ib@example.dk,LO,chair,\n"
        + "lbr-odense,Jo Jul,jo@example.dk,,secretary,\n",
    )
    assert [(r.line, r.outcome) for r in report.lines] == [(2, "updated"), (3, "added")]
    before = await snapshot(councils_db)
    again = await _import(
        councils_db,
        clock,
        HEADER
        + "lbr-odense,Ib Isen,ib@example.dk,LO,chair,\n"
        + "lbr-odense,Jo Jul,jo@example.dk,,secretary,\n",
    )
    assert [r.outcome for r in again.lines] == ["unchanged", "unchanged"]
    assert await snapshot(councils_db) == before
    async with councils_db.session() as s:
        entries = (await s.exec(select(AuditLog).where(AuditLog.entity == "membership"))).all()
    updated = [e for e in entries if e.action == "membership.updated"]
    assert len(updated) == 1
    assert json.loads(updated[0].details)["seat_changes"]["role"] == {
        "old": "member",
        "new": "chair",
    }


async def test_semicolon_windows_1252_and_bom_files(
    councils_db: Database, clock: FixedClock
) -> None:
    cp1252 = (
        "council;name;email;organisation;role\n"
        "lbr-holbaek;Søren Ærø;soren@example.dk;FTF;sekretær\n"
    )
    report = await _import(councils_db, clock, cp1252.encode("cp1252"))
    assert [r.outcome for r in report.lines] == ["added"]
    bom = "\ufeff" + HEADER + "lbr-holbaek,Åse Øst,aase@example.dk,AC,observatør,\n"
    report = await _import(councils_db, clock, bom.encode("utf-8"))
    assert [r.outcome for r in report.lines] == ["added"]
    async with councils_db.session() as s:
        names = {p.name for p in (await s.exec(select(Person))).all()}
        roles = {m.role for m in (await s.exec(select(Membership))).all()}
    assert names == {"Søren Ærø", "Åse Øst"}
    assert roles == {"secretary", "observer"}


@pytest.mark.parametrize(
    "header",
    [
        "council,name,email,organisation\n",  # role missing
        "council,name,email,organisation,role,phone\n",  # unknown column
        "",  # empty file
    ],
)
async def test_bad_header_is_refused_and_changes_nothing(
    councils_db: Database, clock: FixedClock, header: str
) -> None:
    before = await snapshot(councils_db)
    with pytest.raises(InputError) as info:
        await _import(councils_db, clock, header + "lbr-odense,A,a@example.dk,LO,member\n")
    assert info.value.key == "members.bad_header"
    assert "council,name,email,organisation,role,slack_id" in str(info.value)
    assert await snapshot(councils_db) == before


async def test_strict_mode_rejects_whole_file(councils_db: Database, clock: FixedClock) -> None:
    before = await snapshot(councils_db)
    async with councils_db.session() as s:
        report = await import_members(
            s,
            (
                HEADER + "lbr-odense,A,a@example.dk,LO,member,\nlbr-odense,B,b@,LO,member,\n"
            ).encode(),
            now=clock.now(),
            actor="t",
            strict=True,
        )
        await s.rollback()
    assert report.rejected == 1
    assert await snapshot(councils_db) == before


async def test_english_report(councils_db: Database, clock: FixedClock) -> None:
    report = await _import(
        councils_db, clock, HEADER + "lbr-odense,A,nope,LO,member,\n", language="en"
    )
    assert report.lines[0].text == "rejected: invalid e-mail address 'nope'"
