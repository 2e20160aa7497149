"""Meetings in Slack: /seminar new (form), the RSVP buttons, /seminar attendees."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from slack_sdk.models.views import View
from sqlmodel import select

from bot.blocks import SEMINAR_VIEW
from bot.services.councils import get_council
from bot.services.cycle import instantiate_year
from bot.services.hearings import Actor
from bot.services.meetings import MeetingDraft, create_meeting, invite, meeting_view, parse_local
from bot.services.reminders import sync_reminders
from storage.models import CycleEvent, Meeting, OutboxMessage
from tests.cli_runner import Cli
from tests.servers import SlackStandIn
from tests.slack_rules import message_error
from tests.slack_world import slack_world
from tests.test_slack_hearing import START, blocks_of, view_of


def seminar_values(
    day: str,
    extra: str = "direktor@jobcenter.example.dk",
    *,
    start: str = "09:00",
    end: str = "15:00",
    title: str = "Planseminar 2028",
    location: str = "Rådhuset",
    agenda: str = "1. Mål",
) -> dict[str, object]:
    def value(block: str, kind: str, **v: object) -> dict[str, object]:
        return {block: {block: {"type": kind, **v}}}

    return {
        **value("council", "static_select", selected_option={"value": "lbr-test"}),
        **value("title", "plain_text_input", value=title),
        **value("date", "datepicker", selected_date=day),
        **value("start", "timepicker", selected_time=start),
        **value("end", "timepicker", selected_time=end),
        **value("location", "plain_text_input", value=location),
        **value("url", "url_text_input", value=None),
        **value("agenda", "plain_text_input", value=agenda),
        **value("extra", "plain_text_input", value=extra),
    }


async def test_a_meeting_from_the_form_with_answers_by_button(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        _, _, took, _ = await w.command("USOFIE01", "/seminar", "new")
        assert took < 3
        form = view_of(await w.api_call("views.open"))
        assert form["callback_id"] == SEMINAR_VIEW
        status, body, _ = await w.interact(
            w.submission("USOFIE01", SEMINAR_VIEW, seminar_values("2027-03-30"))
        )
        assert status == 200 and json.loads(body) == {"response_action": "clear"}
        async with w.ctx.db.session() as s:
            meeting = (await s.execute(select(Meeting))).scalar_one()
            rows = (await s.execute(select(OutboxMessage))).scalars().all()
        mine = [r for r in rows if r.source == f"meeting-msg:{meeting.id}"]
        # Four members by e-mail (with the calendar) and by Slack DM, plus the extra address.
        assert sorted(r.channel for r in mine) == ["email"] * 5 + ["slack"] * 4
        await w.drain()
        dm = next(p for p in slack.posted() if p.args["channel"] == "DBO00001")
        text = json.dumps(blocks_of(dm), ensure_ascii=False)
        assert "tirsdag den 30. marts 2027 kl. 09:00–15:00" in text and "Rådhuset" in text
        assert "meeting_rsvp_yes" in text and "Deltager ikke" in text

        pressed = w.button("UBO00001", "meeting_rsvp_yes", f"{meeting.id}:yes")
        status, _, took = await w.interact(pressed)
        assert status == 200 and took < 3
        answer = await w.slack.response_to(pressed["response_url"].rsplit("/", 1)[1])
        assert "Dit svar er gemt: Deltager." in answer["text"]
        async with w.ctx.db.session() as s:
            view = await meeting_view(s, meeting.id or 0)
        assert view.counts() == {"yes": 1, "no": 0, "maybe": 0, "none": 4}
        _, _, _, name = await w.command("USOFIE01", "/seminar", f"attendees {meeting.id}")
        listing = (await w.response(name))["text"]
        assert "Bo Berg: Deltager (Slack)" in listing and "Deltager: 1" in listing
        # The CLI shows the same answer (it runs its own loop: in a thread).
        cli = Cli(database_url, tmp_path / "config.toml")
        shown = json.loads(
            await asyncio.to_thread(cli.ok, "seminar", "attendees", str(meeting.id), "--json")
        )
        assert shown["counts"] == {"yes": 1, "no": 0, "maybe": 0, "none": 4}
        assert {a["email"]: a["response"] for a in shown["attendees"]}["bo@example.dk"] == "yes"
        assert {a["email"]: a["source"] for a in shown["attendees"]}["bo@example.dk"] == "slack"


async def test_a_bad_form_is_sent_back_and_stores_nothing(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        status, body, _ = await w.interact(
            w.submission("USOFIE01", SEMINAR_VIEW, seminar_values("2027-03-29", "not-mail"))
        )
        assert status == 200
        assert "not-mail" in json.loads(body)["errors"]["extra"]
        status, body, _ = await w.interact(
            w.submission("UBO00001", SEMINAR_VIEW, seminar_values("2027-03-29"))
        )
        assert "kun rådets sekretariat" in json.loads(body)["errors"]["council"]
        async with w.ctx.db.session() as s:
            assert (await s.execute(select(Meeting))).first() is None


async def test_a_cycle_meeting_prompts_the_secretary_who_creates_it_from_the_prompt(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            council = await get_council(s, "lbr-test")
            for year in (2027, 2028):
                await instantiate_year(
                    s, council, year, w.ctx.template, w.ctx.calendar, now=w.clock.now(), actor="t"
                )
            await sync_reminders(s, w.ctx)
            seminar = (
                await s.execute(
                    select(CycleEvent).where(
                        CycleEvent.council_id == council.id,
                        CycleEvent.template_key == "plan_seminar",
                        CycleEvent.year == 2028,
                    )
                )
            ).scalar_one()
            prompts = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == f"meeting-prompt:{seminar.id}"
                        )
                    )
                )
                .scalars()
                .all()
            )
        # The secretariat: its mailbox and Sofie (by DM).
        assert {p.address for p in prompts} == {"lbr@example.dk", "USOFIE01"}
        slack_prompt = next(p for p in prompts if p.channel == "slack")
        w.clock.set(slack_prompt.due_at)
        await w.drain()
        prompted = [
            p
            for p in slack.posted()
            if p.args["channel"] == "DSOFIE01" and "seminar_new_prompt" in json.dumps(blocks_of(p))
        ]
        assert len(prompted) == 1
        assert "Opret mødet nu" in prompted[0].args["text"]
        _, _, took = await w.interact(w.button("USOFIE01", "seminar_new_prompt", str(seminar.id)))
        assert took < 3
        form = view_of(await w.api_call("views.open"))
        assert seminar.date.isoformat() in json.dumps(form)
        values = seminar_values(seminar.date.isoformat())
        status, body, _ = await w.interact(
            w.submission(
                "USOFIE01", SEMINAR_VIEW, values, private_metadata=form["private_metadata"]
            )
        )
        assert status == 200 and json.loads(body) == {"response_action": "clear"}
        async with w.ctx.db.session() as s:
            meeting = (await s.execute(select(Meeting))).scalar_one()
            left = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == f"meeting-prompt:{seminar.id}",
                            OutboxMessage.state == "pending",
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert meeting.cycle_event_id == seminar.id
        assert left == []


async def test_each_error_goes_under_its_own_field_in_words(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:

        async def errors(**kw: str) -> dict[str, str]:
            values = seminar_values(kw.pop("day", "2027-03-30"), **kw)
            status, body, _ = await w.interact(w.submission("USOFIE01", SEMINAR_VIEW, values))
            assert status == 200
            answer = json.loads(body)
            assert answer["response_action"] == "errors", answer
            return answer["errors"]

        long_place = await errors(location="Rådhuset " * 70)
        assert list(long_place) == ["location"]
        assert "Sted" in long_place["location"] and "500" in long_place["location"]
        assert "'location'" not in long_place["location"]
        bad_title = await errors(title="Plan\u200bseminar")
        assert list(bad_title) == ["title"] and "'Titel'" in bad_title["title"]
        # The repeated autumn hour, under the field that holds it, naming both times.
        twice = await errors(day="2027-10-31", start="01:00", end="02:30")
        assert list(twice) == ["end"]
        assert "02:30 +02:00 (00:30 UTC)" in twice["end"] and "Slut" in twice["end"]
        assert "02:30 +01:00 (01:30 UTC)" in twice["end"]
        async with w.ctx.db.session() as s:
            assert (await s.execute(select(Meeting))).first() is None


async def test_a_closed_day_is_asked_about_before_the_invitations_go_out(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        agenda = "1. Mål & midler\n" * 150
        values = seminar_values("2027-03-25", agenda=agenda)
        status, body, _ = await w.interact(w.submission("USOFIE01", SEMINAR_VIEW, values))
        answer = json.loads(body)
        assert status == 200 and answer["response_action"] == "update", answer
        again = answer["view"]
        View(**again).validate_json()
        shown = json.dumps(again, ensure_ascii=False)
        assert "Mødet ligger på en lukkedag: torsdag den 25. marts 2027 (Skærtorsdag)." in shown
        # Everything typed is still there, the agenda whole.
        by_block = {b.get("block_id"): b for b in again["blocks"]}
        assert by_block["agenda"]["element"]["initial_value"] == agenda
        assert by_block["location"]["element"]["initial_value"] == "Rådhuset"
        assert by_block["date"]["element"]["initial_date"] == "2027-03-25"
        box = by_block["closed_day_ok"]["element"]["options"][0]
        async with w.ctx.db.session() as s:
            assert (await s.execute(select(Meeting))).first() is None
            assert (await s.execute(select(OutboxMessage))).first() is None
        # Ticking the box for another day does not count: the new day is asked about.
        ticked = {
            "closed_day_ok": {"closed_day_ok": {"type": "checkboxes", "selected_options": [box]}}
        }
        moved = {**seminar_values("2027-03-29", agenda=agenda), **ticked}
        status, body, _ = await w.interact(w.submission("USOFIE01", SEMINAR_VIEW, moved))
        assert json.loads(body)["response_action"] == "update"
        assert "(Anden påskedag)" in json.dumps(json.loads(body)["view"], ensure_ascii=False)
        # Ticked for this day: the meeting is made and the invitations go out.
        status, body, _ = await w.interact(
            w.submission("USOFIE01", SEMINAR_VIEW, {**values, **ticked})
        )
        assert json.loads(body) == {"response_action": "clear"}
        async with w.ctx.db.session() as s:
            meeting = (await s.execute(select(Meeting))).scalar_one()
            rows = (await s.execute(select(OutboxMessage))).scalars().all()
        assert meeting.agenda == agenda.strip() and len(rows) == 9


async def dm_for_agenda(w: Any, slack: SlackStandIn, agenda: str) -> dict[str, Any]:
    """Create and invite a meeting with this agenda; Bo's DM as posted."""
    who = Actor("test")
    async with w.ctx.db.transaction() as s:
        draft = MeetingDraft(
            council_keys=("lbr-test",),
            title="Planseminar",
            start=parse_local("2027-03-30 09:00", w.ctx, "--start"),
            end=parse_local("2027-03-30 15:00", w.ctx, "--end"),
            agenda=agenda,
        )
        created = await create_meeting(s, w.ctx, who, draft)
        await invite(s, w.ctx, who, created.meeting.id or 0)
    await w.drain()
    posted = next(p for p in slack.posted() if p.args["channel"] == "DBO00001")
    assert posted.ok and message_error(posted.args) is None
    return dict(posted.args)


def section_texts(args: dict[str, Any]) -> list[str]:
    blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def no_split_entity(text: str) -> bool:
    """Every & in escaped text starts a whole &amp; / &lt; / &gt;."""
    return all(re.match(r"&(amp|lt|gt);", text[i:]) for i in range(len(text)) if text[i] == "&")


async def test_a_long_agenda_reaches_the_dm_whole_in_several_sections(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        # 4,990 characters; the old single section was cut at 3,000, inside an "&amp;".
        lines_ = [f"{n:03d}. Mål & midler for {'<by>' if n % 2 else 'land'}" for n in range(1, 160)]
        agenda = "\n".join(lines_)[:4990]
        texts = section_texts(await dm_for_agenda(w, slack, agenda))
        assert len(texts) >= 2 and all(len(t) <= 3000 for t in texts)
        assert all(no_split_entity(t) for t in texts)
        shown = "\n".join(texts)
        escaped = agenda.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in shown and "…" not in shown


async def test_an_agenda_too_long_for_slack_is_shortened_visibly_with_a_pointer(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        # 5,000 characters that escape to 25,000: more than one Slack message holds.
        args = await dm_for_agenda(w, slack, "A&B<C>" * 833)
        texts = section_texts(args)
        assert all(len(t) <= 3000 for t in texts) and all(no_split_entity(t) for t in texts)
        shown = "\n".join(texts)
        assert "…" in shown and "invitationsmailen" in shown
        assert "aarshjul seminar ics" in shown
        assert len(shown) <= 12000 and no_split_entity(str(args["text"]))
