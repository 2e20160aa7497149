"""Hostile requests to the bot's real ``/slack/events`` endpoint: nothing unverified
reaches a listener or makes the bot call out, and malformed input is a 400, not a 500.

Every case posts to the running aiohttp server with a Slack Web API stand-in behind
it and an extra HTTP listener standing for "any URL" an attacker might name; both
must receive nothing from a refused request, and the database must be unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.blocks import ANSWER_VIEW
from bot.slack_http import Refused, check_shape, response_url_allowed, verify
from tests.conftest import snapshot
from tests.servers import SlackStandIn
from tests.slack_world import SECRET, SlackWorld, sign, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)


class AnyUrl:
    """An HTTP listener on loopback that records every request it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.url = ""

    async def __aenter__(self) -> AnyUrl:
        async def record(request: web.Request) -> web.Response:
            self.hits.append(f"{request.method} {request.path}")
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/internal/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


@pytest.fixture
async def any_url() -> AsyncIterator[AnyUrl]:
    async with AnyUrl() as listener:
        yield listener


async def raw_post(w: SlackWorld, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with w.http.post(w.url, data=body, headers=headers) as response:
        return response.status, await response.text()


def command_form(response_url: str, **extra: str) -> bytes:
    form = {
        "command": "/hearing",
        "text": "list",
        "user_id": "USOFIE01",
        "channel_id": "CLBRTEST",
        "channel_name": "lbr-test",
        "team_id": "T0001",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    form.update(extra)
    return urlencode(form).encode()


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("stamp", ["abc", "", "1e9", "nan", "-1", "12.5", " 1700000000"])
async def test_an_unsigned_timestamp_is_401_and_calls_nothing(
    database_url: str,
    tmp_path: Path,
    slack: SlackStandIn,
    any_url: AnyUrl,
    stamp: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with slack_world(database_url, tmp_path, START, slack) as w:
        before = await snapshot(w.ctx.db)
        calls = len(slack.calls)
        body = command_form(any_url.url)
        status, text = await raw_post(
            w,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": "v0=" + "0" * 64,
            },
        )
        assert status == 401, text
        assert json.loads(text) == {"ok": False, "error": "unauthorized"}
        await w.settle()
        assert any_url.hits == []
        assert len(slack.calls) == calls and slack.responses == []
        assert await snapshot(w.ctx.db) == before
    assert errors_in(caplog) == []


async def test_a_verified_command_never_answers_to_a_foreign_response_url(
    database_url: str,
    tmp_path: Path,
    slack: SlackStandIn,
    any_url: AnyUrl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Signed, but its response_url points elsewhere: the answer comes through
    chat.postEphemeral, and the named URL is never called."""
    async with slack_world(database_url, tmp_path, START, slack) as w:
        status, _, _ = await w.post(command_form(any_url.url))
        assert status == 200
        call = await w.api_call("chat.postEphemeral")
        assert call.args["user"] == "USOFIE01" and call.args["channel"] == "CLBRTEST"
        assert "Ingen høringer" in call.args["text"]
        await w.settle()
        assert any_url.hits == []
        # The same for an https URL on another host that only looks like Slack's.
        status, _, _ = await w.post(command_form("https://hooks.slack.com.evil.example/x"))
        assert status == 200
        await w.api_call("chat.postEphemeral", count=2)
    assert errors_in(caplog) == []


def _payload(data: Any) -> bytes:
    return urlencode({"payload": data if isinstance(data, str) else json.dumps(data)}).encode()


def _submission(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "UBO00001"},
        "team": {"id": "T0001"},
        "view": {"id": "V1", "callback_id": ANSWER_VIEW, **view},
    }


MALFORMED: dict[str, tuple[bytes, str]] = {
    "invalid UTF-8 in the form": (b"command=%2Fhearing&text=\xff\xfe&user_id=U1&team_id=T", "f"),
    "percent-encoded invalid UTF-8": (b"command=%2Fhearing&text=%ff%fe&user_id=U1&team_id=T", "f"),
    "payload not JSON": (_payload("{not json"), "f"),
    "payload a JSON array": (_payload([1, 2, 3]), "f"),
    "payload a JSON string": (_payload('"block_actions"'), "f"),
    "payload without type": (_payload({"user": {"id": "U1"}}), "f"),
    "view without state": (_payload(_submission({"private_metadata": "{}"})), "f"),
    "state values not an object": (
        _payload(_submission({"state": {"values": []}, "private_metadata": "{}"})),
        "f",
    ),
    "private_metadata not JSON": (
        _payload(_submission({"state": {"values": {}}, "private_metadata": "hearing 1"})),
        "f",
    ),
    "private_metadata a JSON array": (
        _payload(_submission({"state": {"values": {}}, "private_metadata": "[1]"})),
        "f",
    ),
    "actions not a list": (
        _payload({"type": "block_actions", "user": {"id": "U1"}, "actions": {"a": 1}}),
        "f",
    ),
    "command without user": (urlencode({"command": "/hearing", "team_id": "T1"}).encode(), "f"),
    "JSON body an array": (b"[1]", "j"),
    "JSON body not JSON": (b"{oops", "j"),
    "another content type": (b"<xml/>", "x"),
}
TYPES = {
    "f": "application/x-www-form-urlencoded",
    "j": "application/json",
    "x": "text/xml",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_requests_are_400_signed_and_401_unsigned(
    database_url: str,
    tmp_path: Path,
    slack: SlackStandIn,
    any_url: AnyUrl,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, kind = MALFORMED[case]
    caplog.set_level(logging.INFO)
    async with slack_world(database_url, tmp_path, START, slack) as w:
        before = await snapshot(w.ctx.db)
        calls = len(slack.calls)
        now = int(time.time())
        headers = {"Content-Type": TYPES[kind], "X-Slack-Request-Timestamp": str(now)}
        status, text = await raw_post(w, body, {**headers, "X-Slack-Signature": sign(body, now)})
        assert status == 400, text
        assert json.loads(text) == {"ok": False, "error": "bad_request"}
        status, _ = await raw_post(
            w, body, {**headers, "X-Slack-Signature": sign(body, now, "wrong-secret")}
        )
        assert status == 401
        await w.settle()
        assert await snapshot(w.ctx.db) == before
        assert len(slack.calls) == calls and any_url.hits == []
    assert errors_in(caplog) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(r.exc_info is None for r in warnings)


async def test_an_oversized_body_is_refused_before_it_is_read(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        body = b"text=" + b"a" * 2_000_000
        now = int(time.time())
        status, _ = await raw_post(
            w,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": sign(body, now),
            },
        )
        assert status == 413


def test_verify_checks_the_timestamp_before_the_signature() -> None:
    body = b"a=b"
    now = 1_800_000_000
    verify({"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)},
           body, SECRET, now=now)  # fmt: skip
    for stamp, why in [
        ("abc", "not a number"),
        ("", "not a number"),
        ("1e9", "not a number"),
        (str(now - 301), "stale"),
        (str(now + 301), "stale"),
    ]:
        with pytest.raises(Refused, match=why):
            verify({"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(body, now)},
                   body, SECRET, now=now)  # fmt: skip
    with pytest.raises(Refused, match="no signing secret"):
        verify({}, body, None, now=now)
    with pytest.raises(Refused, match="does not match"):
        verify({"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now, "x")},
               body, SECRET, now=now)  # fmt: skip


def test_only_slack_hooks_or_the_configured_api_host_are_answered() -> None:
    api = "http://127.0.0.1:4321/api/"
    assert response_url_allowed("https://hooks.slack.com/commands/T1/2/abc", api)
    assert response_url_allowed("http://127.0.0.1:4321/response/x", api)
    for url in [
        None,
        "",
        "http://hooks.slack.com/commands/x",
        "https://hooks.slack.com:8443/commands/x",
        "https://hooks.slack.com.evil.example/x",
        "https://evil.example/?https://hooks.slack.com/",
        "http://127.0.0.1:4322/response/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1",
    ]:
        assert not response_url_allowed(url, api), url
    # In production (slack.com) only hooks.slack.com is answered.
    assert not response_url_allowed("https://slack.com/api/x", "https://slack.com/api/")


def test_check_shape_accepts_what_slack_sends() -> None:
    form = "application/x-www-form-urlencoded"
    assert check_shape(form, command_form("https://hooks.slack.com/x"))
    assert check_shape(form, b"ssl_check=1&token=x")
    assert check_shape("application/json", b'{"type": "url_verification", "challenge": "c"}')
    view = _submission({"state": {"values": {"b": {"a": {"type": "x"}}}}, "private_metadata": ""})
    assert check_shape(form, _payload(view))
    assert check_shape(form, urlencode({"payload": json.dumps(view)}, quote_via=quote).encode())


async def test_a_value_the_form_never_offered_is_a_field_error_and_stores_nothing(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    from sqlmodel import select

    from storage.models import Hearing
    from tests.slack_world import answer_values

    async with slack_world(database_url, tmp_path, START, slack) as w:
        _, _, _, name = await w.command(
            "USOFIE01", "/hearing", "open lbr-test 2027-03-19 Beskæftigelsesplan"
        )
        await w.response(name)
        async with w.ctx.db.session() as s:
            hearing = (await s.execute(select(Hearing))).scalars().one()
        before = await snapshot(w.ctx.db)
        for position, behalf in [("text", "own"), ("yes", "own"), ("support", "everyone")]:
            payload = w.submission(
                "UBO00001",
                ANSWER_VIEW,
                answer_values(position, "Forfalsket", behalf=behalf),
                private_metadata=json.dumps({"hearing_id": hearing.id}),
            )
            status, body, _ = await w.interact(payload)
            assert status == 200
            answer = json.loads(body)
            assert answer["response_action"] == "errors", answer
            assert set(answer["errors"]) <= {"position", "behalf"}
        # A forged RSVP answer on a button is refused too.
        button = w.button("UBO00001", "meeting_rsvp_yes", "1:none")
        status, _, _ = await w.interact(button)
        assert status == 200
        await w.settle()
        assert await snapshot(w.ctx.db) == before
