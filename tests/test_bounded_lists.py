"""Lists are bounded queries (issue 10, point 5), on SQLite and PostgreSQL.

A council with 20,000 hearings must cost the members of another council nothing:
``/hearing list`` (through the real, signed HTTP endpoint), its "vis flere" button,
App Home and ``aarshjul hearing list`` show only the asker's page, newest first, 20 at
a time, within Slack's 3 seconds. The paging itself is checked on the service
functions: newest first, exactly 20 a page, no "more" after the last.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from bot.blocks import (
    HEARING_MORE_BUTTON,
    HOME_MORE_BUTTON,
    MAX_OFFSET,
    SEMINAR_MORE_BUTTON,
    more_value,
)
from bot.delivery.render import DIGEST_ROWS, Renderer
from bot.services.councils import get_council
from bot.services.hearing_lists import PAGE_SIZE, awaiting, list_hearings
from bot.services.meeting_lists import upcoming_meetings
from storage.models import (
    CycleEvent,
    Hearing,
    HearingAnswer,
    HearingInvitee,
    Meeting,
    OutboxMessage,
    Person,
)
from tests.cli_runner import Cli
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, slack_world
from tests.test_slack_hearing import START, view_of
from tests.test_slack_home_cycle import home_opened

OTHERS = 20_000
#: The member's own hearings, inserted between the other council's: pages of 20, 20, 5.
MINE = (25, 20)
SLACK_SECONDS = 3.0


def hearing_rows(council_id: int, count: int, first_day: date, tag: str) -> list[dict[str, Any]]:
    now = START
    return [
        {
            "council_id": council_id,
            "title": f"{tag} {n}",
            "subject": "other",
            "deadline": first_day + timedelta(days=n % 300),
            "state": "open",
            "opened_by": "test",
            "opened_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


async def person(w: SlackWorld, email: str) -> Person:
    async with w.ctx.db.session() as s:
        return (await s.execute(select(Person).where(Person.email == email))).scalar_one()


async def person_id(w: SlackWorld, email: str) -> int:
    found = (await person(w, email)).id
    assert found is not None
    return found


async def fill(w: SlackWorld) -> list[int]:
    """20,000 hearings in lbr-other (each with an invitee), 45 in lbr-test between them.

    Returns the ids of lbr-test's hearings, newest first. Bo is invited to all of them
    and has answered the newest; Carl is invited to the newest too.
    """
    bo, carl, ole = [
        await person_id(w, e) for e in ("bo@example.dk", "carl@example.dk", "ole@example.dk")
    ]
    first_day = START.date() + timedelta(days=20)
    async with w.ctx.db.transaction() as s:
        mine = (await get_council(s, "lbr-test")).id
        other = (await get_council(s, "lbr-other")).id
        assert mine is not None and other is not None
        half = OTHERS // 2
        await s.execute(insert(Hearing), hearing_rows(other, half, first_day, "Andet"))
        await s.execute(insert(Hearing), hearing_rows(mine, MINE[0], first_day, "Egen"))
        await s.execute(insert(Hearing), hearing_rows(other, OTHERS - half, first_day, "Andet"))
        # Later ids get later deadlines, so App Home (soonest deadline first) is predictable.
        second = hearing_rows(mine, MINE[1], first_day + timedelta(days=400), "Egen")
        await s.execute(insert(Hearing), second)
        other_ids = (
            await s.execute(select(Hearing.id).where(Hearing.council_id == other))
        ).scalars()
        await s.execute(
            insert(HearingInvitee), [{"hearing_id": i, "person_id": ole} for i in other_ids]
        )
        my_ids = list(
            (
                await s.execute(
                    select(Hearing.id)
                    .where(Hearing.council_id == mine)
                    .order_by(col(Hearing.id).desc())
                )
            ).scalars()
        )
        await s.execute(
            insert(HearingInvitee),
            [{"hearing_id": i, "person_id": bo} for i in my_ids]
            + [{"hearing_id": my_ids[0], "person_id": carl}],
        )
        await s.execute(
            insert(HearingAnswer).values(
                hearing_id=my_ids[0],
                person_id=bo,
                answered_by_id=bo,
                position="support",
                answered_at=START,
                created_at=START,
                updated_at=START,
            )
        )
    assert len(my_ids) == sum(MINE)
    return my_ids


async def add_my_hearings(w: SlackWorld, count: int) -> None:
    """``count`` hearings in lbr-test (Bo's council), the first deadline today."""
    async with w.ctx.db.transaction() as s:
        mine = (await get_council(s, "lbr-test")).id
        assert mine is not None
        await s.execute(insert(Hearing), hearing_rows(mine, count, START.date(), "Egen"))


def ids_in(blocks: list[dict[str, Any]]) -> list[int]:
    """The hearing ids of a /hearing list page, in the order shown."""
    return [
        int(m.group(1))
        for b in blocks
        if b["type"] == "section"
        for m in [re.match(r"• \*(\d+)\*", b["text"]["text"])]
        if m
    ]


def more_buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


async def press(w: SlackWorld, user: str, button: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Press a "vis flere" button; the page it answers with and the seconds it took."""
    payload = w.button(user, button["action_id"], button["value"])
    name = payload["response_url"].rsplit("/", 1)[1]
    started = time.monotonic()
    status, _, took = await w.interact(payload)
    assert status == 200 and took < SLACK_SECONDS
    reply = await w.response(name, within=SLACK_SECONDS)
    return reply, time.monotonic() - started


async def test_hearing_list_app_home_and_cli_are_bounded_beside_20000_hearings(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        my_ids = await fill(w)
        kind = "SQLite" if w.ctx.db.is_sqlite else "PostgreSQL"

        # /hearing list through the signed endpoint: page 1, the 20 newest of Bo's council.
        started = time.monotonic()
        status, _, took, name = await w.command("UBO00001", "/hearing", "list")
        assert status == 200 and took < SLACK_SECONDS
        page1 = await w.response(name, within=SLACK_SECONDS)
        elapsed = time.monotonic() - started
        print(f"\n{kind}: /hearing list beside {OTHERS} hearings answered in {elapsed:.3f} s")
        assert elapsed < SLACK_SECONDS
        assert page1["response_type"] == "ephemeral"
        assert ids_in(page1["blocks"]) == my_ids[:PAGE_SIZE]
        assert "Andet" not in json.dumps(page1, ensure_ascii=False)
        # The counts come with the page: the newest has 2 invitees and Bo's answer.
        assert f"*{my_ids[0]}* Egen" in page1["text"] and "1/2 svar" in page1["text"]
        assert f"*{my_ids[1]}* Egen" in page1["text"]
        [button] = more_buttons(page1["blocks"], HEARING_MORE_BUTTON)
        assert button["text"]["text"] == "Vis flere"

        # "Vis flere": page 2, then the last page with no button.
        page2, took = await press(w, "UBO00001", button)
        print(f"{kind}: page 2 in {took:.3f} s")
        assert ids_in(page2["blocks"]) == my_ids[PAGE_SIZE : 2 * PAGE_SIZE]
        [button] = more_buttons(page2["blocks"], HEARING_MORE_BUTTON)
        page3, _ = await press(w, "UBO00001", button)
        assert ids_in(page3["blocks"]) == my_ids[2 * PAGE_SIZE :]
        assert len(ids_in(page3["blocks"])) == sum(MINE) - 2 * PAGE_SIZE
        assert more_buttons(page3["blocks"], HEARING_MORE_BUTTON) == []

        # Ole's council is the big one: his first page is 20 of its newest, not Bo's.
        _, _, _, name = await w.command("UOLE0001", "/hearing", "list")
        ole = await w.response(name, within=SLACK_SECONDS)
        assert len(ids_in(ole["blocks"])) == PAGE_SIZE
        assert "Egen" not in json.dumps(ole, ensure_ascii=False)

        # App Home: the 20 hearings waiting for Bo (he answered the newest), soonest
        # deadline first, and "vis flere" publishes the rest.
        started = time.monotonic()
        assert await home_opened(w, "UBO00001", 1) == 200
        home = view_of(await w.api_call("views.publish", within=SLACK_SECONDS))
        took = time.monotonic() - started
        print(f"{kind}: App Home in {took:.3f} s")
        assert took < SLACK_SECONDS
        waiting = sorted(my_ids[1:])
        answer_values = [
            int(b["accessory"]["value"])
            for b in home["blocks"]
            if b.get("accessory", {}).get("action_id") == "hearing_answer"
        ]
        assert answer_values == waiting[:PAGE_SIZE]
        [button] = more_buttons(home["blocks"], HOME_MORE_BUTTON)
        payload = w.button("UBO00001", HOME_MORE_BUTTON, button["value"], in_channel=False)
        status, _, took = await w.interact(payload)
        assert status == 200 and took < SLACK_SECONDS
        home2 = view_of(await w.api_call("views.publish", count=2, within=SLACK_SECONDS))
        answer_values = [
            int(b["accessory"]["value"])
            for b in home2["blocks"]
            if b.get("accessory", {}).get("action_id") == "hearing_answer"
        ]
        assert answer_values == waiting[PAGE_SIZE : 2 * PAGE_SIZE]

    # The CLI: a page of 20 by default (a hint on stderr), every page with --all.
    cli = Cli(database_url, tmp_path / "config.toml")
    started = time.monotonic()
    result = await asyncio.to_thread(cli, "hearing", "list", "--council", "lbr-test", "--json")
    took = time.monotonic() - started
    print(f"{kind}: aarshjul hearing list --council lbr-test in {took:.3f} s")
    assert result.exit_code == 0, result.stderr
    assert took < SLACK_SECONDS
    listed = json.loads(result.stdout)
    assert [h["id"] for h in listed] == my_ids[:PAGE_SIZE]
    assert listed[0]["invited"] == 2 and listed[0]["answered"] == 1
    assert set(listed[0]) == {
        "id",
        "council",
        "title",
        "subject",
        "deadline",
        "state",
        "document",
        "invited",
        "answered",
    }
    assert "--page 2" in result.stderr
    page3 = json.loads(
        await asyncio.to_thread(
            cli.ok, "hearing", "list", "--council", "lbr-test", "--json", "--page", "3"
        )
    )
    assert [h["id"] for h in page3] == my_ids[2 * PAGE_SIZE :]
    every = json.loads(
        await asyncio.to_thread(
            cli.ok, "hearing", "list", "--council", "lbr-test", "--json", "--all"
        )
    )
    assert [h["id"] for h in every] == my_ids
    started = time.monotonic()
    newest = json.loads(await asyncio.to_thread(cli.ok, "hearing", "list", "--json"))
    print(f"{kind}: aarshjul hearing list (all councils) in {time.monotonic() - started:.3f} s")
    assert len(newest) == PAGE_SIZE and newest[0]["council"] == "lbr-test"


async def test_hearing_pages_are_newest_first_twenty_each_and_the_last_has_no_more(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await add_my_hearings(w, 41)
        bo, ole = await person(w, "bo@example.dk"), await person(w, "ole@example.dk")
        async with w.ctx.db.session() as s:
            pages = [await list_hearings(s, person=bo, offset=o) for o in (0, 20, 40)]
            assert [len(p.rows) for p in pages] == [20, 20, 1]
            assert [p.next_offset for p in pages] == [20, 40, None]
            ids = [h.id for p in pages for h, _, _, _ in p.rows]
            assert ids == sorted(ids, reverse=True) and len(set(ids)) == 41
            # Exactly 20 rows: no "more" after a full last page.
            assert (await list_hearings(s, person=bo, limit=41)).next_offset is None
            assert (await list_hearings(s, person=bo, limit=40)).next_offset == 40
            # Ole is no member of lbr-test: he sees none of them.
            assert (await list_hearings(s, person=ole)).rows == []
            assert (await awaiting(s, w.ctx, bo)).rows == []  # not invited to any


async def test_seminar_list_pages_the_coming_meetings_of_the_users_councils(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            ids = {k: (await get_council(s, k)).id for k in ("lbr-test", "lbr-other")}

            def meetings(council: str, count: int, past: bool = False) -> list[dict[str, Any]]:
                sign = -1 if past else 1
                return [
                    {
                        "uid": f"{council}-{n}-{past}@test",
                        "council_id": ids[council],
                        "title": f"Møde {council} {n}",
                        "start_at": START + sign * timedelta(days=n + 1),
                        "end_at": START + sign * timedelta(days=n + 1, hours=-1 * sign),
                        "created_by": "test",
                        "created_at": START,
                        "updated_at": START,
                    }
                    for n in range(count)
                ]

            await s.execute(insert(Meeting), meetings("lbr-other", 500))
            await s.execute(insert(Meeting), meetings("lbr-test", 3, past=True))
            await s.execute(insert(Meeting), meetings("lbr-test", 23))
        _, _, _, name = await w.command("UBO00001", "/seminar", "list")
        page1 = await w.response(name, within=SLACK_SECONDS)
        titles = [b["text"]["text"] for b in page1["blocks"] if b["type"] == "section"]
        assert len(titles) == PAGE_SIZE
        assert all("Møde lbr-test" in t for t in titles)
        assert "Møde lbr-test 0 " in titles[0] + " " and "Møde lbr-test 19 " in titles[-1] + " "
        [button] = more_buttons(page1["blocks"], SEMINAR_MORE_BUTTON)
        page2, _ = await press(w, "UBO00001", button)
        titles = [b["text"]["text"] for b in page2["blocks"] if b["type"] == "section"]
        assert [t.split(" – ")[0].rsplit(" ", 1)[1] for t in titles] == ["20", "21", "22"]
        assert more_buttons(page2["blocks"], SEMINAR_MORE_BUTTON) == []
        async with w.ctx.db.session() as s:
            page = await upcoming_meetings(s, START, council_key="lbr-other", offset=480)
            assert len(page.rows) == 20 and page.next_offset is None
            assert [m.start_at for m, _ in page.rows] == sorted(m.start_at for m, _ in page.rows)
    cli = Cli(database_url, tmp_path / "config.toml")
    listed = await asyncio.to_thread(cli.ok, "seminar", "list", "--council", "lbr-test", "--json")
    assert len(json.loads(listed)) == PAGE_SIZE  # the CLI's clock is before every meeting
    every = await asyncio.to_thread(
        cli.ok, "seminar", "list", "--council", "lbr-test", "--json", "--all"
    )
    assert len(json.loads(every)) == 26 and json.loads(every)[0]["council"] == "lbr-test"


async def test_a_digest_lists_twenty_deadlines_and_counts_the_rest(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        bo = await person_id(w, "bo@example.dk")
        async with w.ctx.db.transaction() as s:
            council = await get_council(s, "lbr-test")
            other = await get_council(s, "lbr-other")
            day = START.date()
            rows = [
                {
                    "council_id": c.id,
                    "year": 2099,
                    "template_key": f"extra_{n}",
                    "type": "deadline",
                    "owner": "secretariat",
                    "created_at": START,
                    "updated_at": START,
                    "title_da": f"Frist {c.key} {n}",
                    "title_en": f"Deadline {c.key} {n}",
                    "computed_date": day + timedelta(days=n % 10),
                    "date": day + timedelta(days=n % 10),
                }
                for c in (council, other)
                for n in range(DIGEST_ROWS + 5)
            ]
            await s.execute(insert(CycleEvent), rows)
        digest = OutboxMessage(
            id=1,
            key="digest-test",
            group_key="digest-test",
            source="digest",
            kind="digest",
            channel="email",
            address="bo@example.dk",
            person_id=bo,
            payload=json.dumps({"message": "digest", "params": {"week_start": day.isoformat()}}),
            due_at=START,
            created_at=START,
            updated_at=START,
        )
        async with w.ctx.db.session() as s:
            message = await Renderer(w.ctx.tz, w.ctx.calendar).render(s, digest, day)
        lines = [line for line in message.text.splitlines() if line.startswith("• ")]
        assert len(lines) == DIGEST_ROWS
        # Only Bo's council, soonest first, and the five left out are counted.
        assert all(line.endswith("(LBR Test)") for line in lines), lines
        assert "… og 5 frister mere" in message.text


def test_a_forged_more_value_asks_for_a_page_the_database_can_give() -> None:
    assert more_value({"value": '{"offset": 40, "council": "lbr-test"}'}) == {
        "offset": 40,
        "council": "lbr-test",
    }
    for forged in ("not json", "[1]", '{"offset": "x"}', '{"offset": -5}', ""):
        assert more_value({"value": forged})["offset"] == 0, forged
    assert more_value({"value": '{"offset": 1e30}'})["offset"] == MAX_OFFSET


async def test_a_forged_offset_past_the_end_gives_an_empty_page(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await add_my_hearings(w, 3)
        forged = {"action_id": HEARING_MORE_BUTTON, "value": '{"offset": 99999999999999999999}'}
        reply, _ = await press(w, "UBO00001", forged)
        assert reply["text"] == "Ingen høringer."
