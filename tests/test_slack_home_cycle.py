"""App Home, absences with substitutes, and /cycle, through the real endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlmodel import select

from bot.blocks import AWAY_BUTTON, AWAY_VIEW
from bot.services.councils import get_council
from bot.services.cycle import instantiate_year
from storage.models import Absence, CycleEvent, OutboxMessage
from tests.conftest import snapshot
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, slack_world
from tests.test_slack_hearing import DEADLINE, START, answer, view_of


async def home_opened(w: SlackWorld, user: str, n: int, retry: int | None = None) -> int:
    body = {
        "token": "verification-token",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0000001",
            "tab": "home",
            "event_ts": f"{int(time.time())}.000100",
        },
    }
    status, _, took = await w.post(
        json.dumps(body).encode(), content_type="application/json", retry=retry
    )
    assert took < 3
    return status


async def open_hearing(w: SlackWorld) -> None:
    _, _, _, name = await w.command(
        "USOFIE01", "/hearing", f"open lbr-test {DEADLINE} Beskæftigelsesplan 2028"
    )
    assert "Høring 1 er åbnet" in (await w.response(name))["text"]


async def test_app_home_lists_what_waits_for_the_user(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            council = await get_council(s, "lbr-test")
            await instantiate_year(
                s, council, 2027, w.ctx.template, w.ctx.calendar, now=w.clock.now(), actor="t"
            )
        await open_hearing(w)
        assert await home_opened(w, "UBO00001", 1) == 200
        published = await w.api_call("views.publish")
        assert published.args["user_id"] == "UBO00001"
        home = json.dumps(view_of(published), ensure_ascii=False)
        assert "Beskæftigelsesplan 2028" in home and "hearing_answer" in home
        assert "Dine råds næste frister" in home and "Kommende møder" in home
        assert AWAY_BUTTON in home
        # Once Bo has answered, the hearing no longer waits for him.
        assert await answer(w, "UBO00001", 1, "support") == (200, "")
        assert await home_opened(w, "UBO00001", 2, retry=1) == 200
        again = json.dumps(view_of(await w.api_call("views.publish", count=2)), ensure_ascii=False)
        assert "Beskæftigelsesplan 2028" not in again and "Ingen – tak!" in again


async def test_an_absence_sends_the_members_reminders_to_the_substitute(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await open_hearing(w)
        _, _, _, name = await w.command(
            "UBO00001", "/hearing", "away 2027-03-01 2027-03-31 <@UCARL001|carl>"
        )
        assert "Suppleant: Carl Clausen" in (await w.response(name))["text"]
        # Slack re-sends it: still one absence.
        body, name2 = w.command_body(
            "UBO00001", "/hearing", "away 2027-03-01 2027-03-31 <@UCARL001|carl>"
        )
        await w.post(body, retry=1)
        await w.response(name2)
        async with w.ctx.db.session() as s:
            absences = (await s.execute(select(Absence))).scalars().all()
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == "hearing:1", OutboxMessage.kind == "reminder"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert len(absences) == 1
        bo_seat = [r for r in rows if r.key.endswith("/person:2") and r.state == "pending"]
        assert bo_seat and {r.address for r in bo_seat} == {"UCARL001"}

        # The App Home way: the button opens the form; end before start is refused.
        status, _, _ = await w.interact(w.button("UANNE001", AWAY_BUTTON, "", in_channel=False))
        assert status == 200
        assert view_of(await w.api_call("views.open"))["callback_id"] == AWAY_VIEW
        before = await snapshot(w.ctx.db)
        values = {
            "start": {"start": {"type": "datepicker", "selected_date": "2027-03-20"}},
            "end": {"end": {"type": "datepicker", "selected_date": "2027-03-10"}},
            "substitute": {"substitute": {"type": "users_select", "selected_user": None}},
        }
        status, body_text, _ = await w.interact(w.submission("UANNE001", AWAY_VIEW, values))
        assert "slutter (2027-03-10) før det begynder" in json.loads(body_text)["errors"]["end"]
        assert await snapshot(w.ctx.db) == before


async def test_cycle_shows_the_channels_council_and_only_a_secretary_moves(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            council = await get_council(s, "lbr-test")
            for year in (2027, 2028):
                await instantiate_year(
                    s, council, year, w.ctx.template, w.ctx.calendar, now=w.clock.now(), actor="t"
                )
        _, _, took, name = await w.command("UBO00001", "/cycle", "")
        assert took < 3
        shown = (await w.response(name))["text"]
        assert shown.startswith("*Kommende frister for LBR Test*")
        assert "plan_seminar" in shown
        _, _, _, name = await w.command("UOLE0001", "/cycle", "lbr-test 2028", channel="general")
        assert "2028" in (await w.response(name))["text"]
        before = await snapshot(w.ctx.db)
        _, _, _, name = await w.command(
            "UBO00001", "/cycle", "move plan_seminar 2027-09-15 Lokalet er optaget"
        )
        assert "kun rådets sekretariat" in (await w.response(name))["text"]
        assert await snapshot(w.ctx.db) == before
        _, _, _, name = await w.command(
            "USOFIE01", "/cycle", "move plan_seminar 2027-09-15 Lokalet er optaget"
        )
        assert "onsdag den 15. september 2027" in (await w.response(name))["text"]
        async with w.ctx.db.session() as s:
            moved = (
                await s.execute(
                    select(CycleEvent).where(
                        CycleEvent.template_key == "plan_seminar", CycleEvent.year == 2027,
                        CycleEvent.council_id == council.id,
                    )
                )
            ).scalar_one()  # fmt: skip
        assert moved.date.isoformat() == "2027-09-15" and moved.override_by == "slack:USOFIE01"
        # Its reminders moved with it (the cycle's sources re-planned in the same request).
        async with w.ctx.db.session() as s:
            payloads = (
                await s.execute(
                    select(OutboxMessage.payload).where(
                        OutboxMessage.source == f"cycle:{moved.id}",
                        OutboxMessage.state == "pending",
                    )
                )
            ).scalars()
            deadlines = {json.loads(p or "{}")["params"]["deadline"] for p in payloads}
        assert deadlines == {"2027-09-15"}
