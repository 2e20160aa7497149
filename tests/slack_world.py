"""A running bot for Slack tests: the real HTTP endpoint, a Slack stand-in, a database.

Requests are signed the way Slack signs them and carry the payload shapes Slack
documents (slash command form, ``block_actions`` and ``view_submission``
payloads), posted to ``/slack/events`` on the bot's own aiohttp server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.config import load_config
from bot.delivery.worker import RunReport
from bot.observability import Metrics
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.councils import sync_councils
from bot.services.members import import_members
from bot.services.reminders import sync_reminders
from bot.slack_app import SlackDeps, build_slack_app, http_route
from bot.web import build_web_app
from scheduler.clock import FixedClock
from tests.servers import SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CONFIG = """
[general]
timezone = "Europe/Copenhagen"
language = "da"

[email]
backend = "file"
folder = "{folder}"
sender = "aarshjul@example.dk"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
slack_channel = "lbr-test"
secretariat_email = "lbr@example.dk"

[[councils]]
key = "lbr-other"
kind = "LBR"
name = "LBR Andet"
region = "rbr-test"
slack_channel = "lbr-other"
"""
MEMBERS = """council,name,email,organisation,role,slack_id
lbr-test,Anne Andersen,anne@example.dk,DA,chair,UANNE001
lbr-test,Bo Berg,bo@example.dk,LO,member,UBO00001
lbr-test,Carl Clausen,carl@example.dk,KL,member,UCARL001
lbr-test,Dorte Dahl,dorte@example.dk,DH,member,UDORTE01
lbr-test,Sofie Sekretær,sofie@example.dk,Jobcenter,secretary,USOFIE01
lbr-other,Ole Olsen,ole@example.dk,LO,member,UOLE0001
lbr-other,Sara Sørensen,sara@example.dk,Jobcenter,secretary,USARA001
"""
USERS = {
    "UANNE001": "anne@example.dk",
    "UBO00001": "bo@example.dk",
    "UCARL001": "carl@example.dk",
    "UDORTE01": "dorte@example.dk",
    "USOFIE01": "sofie@example.dk",
    "UOLE0001": "ole@example.dk",
    "USARA001": "sara@example.dk",
}


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SlackWorld:
    ctx: AppContext
    clock: FixedClock
    slack: SlackStandIn
    deps: SlackDeps
    url: str
    mail: Path
    http: aiohttp.ClientSession
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(
        self,
        body: bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        retry: int | None = None,
        timestamp: int | None = None,
        secret: str = SECRET,
    ) -> tuple[int, str, float]:
        """POST to /slack/events, signed; returns status, body and seconds taken."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, ts, secret),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        started = time.monotonic()
        async with self.http.post(self.url, data=body, headers=headers) as response:
            text = await response.text()
            return response.status, text, time.monotonic() - started

    def command_body(
        self, user: str, command: str, text: str, *, channel: str = "lbr-test", trigger: str = ""
    ) -> tuple[bytes, str]:
        """A slash command as Slack posts it; returns the body and its response_url name."""
        n = next(self._ids)
        name = f"cmd{n}"
        form = {
            "token": "verification-token",
            "team_id": "T0001",
            "team_domain": "raad",
            "channel_id": f"C{channel.upper().replace('-', '')[:9]}",
            "channel_name": channel,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(name),
            "trigger_id": trigger or f"{n}.1.trigger{n}",
        }
        return urlencode(form).encode(), name

    async def command(
        self, user: str, command: str, text: str, **kw: Any
    ) -> tuple[int, str, float, str]:
        body, name = self.command_body(user, command, text, **kw)
        status, answer, took = await self.post(body)
        return status, answer, took, name

    def interaction_body(self, payload: dict[str, Any]) -> bytes:
        return urlencode({"payload": json.dumps(payload)}).encode()

    def button(
        self, user: str, action_id: str, value: str, *, in_channel: bool = True
    ) -> dict[str, Any]:
        n = next(self._ids)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
            "api_app_id": "A0001",
            "token": "verification-token",
            "trigger_id": f"{n}.1.button{n}",
            "team": {"id": "T0001", "domain": "raad"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b1",
                    "type": "button",
                    "value": value,
                    "action_ts": f"1700000{n:03d}.000100",
                }
            ],
        }
        if in_channel:
            payload["container"] = {
                "type": "message",
                "message_ts": f"1700000000.{n:06d}",
                "channel_id": "CLBRTEST",
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": "CLBRTEST", "name": "lbr-test"}
            payload["response_url"] = self.slack.response_url(f"button{n}")
        return payload

    def submission(
        self,
        user: str,
        callback_id: str,
        values: dict[str, Any],
        *,
        private_metadata: str = "",
        view_id: str | None = None,
    ) -> dict[str, Any]:
        n = next(self._ids)
        return {
            "type": "view_submission",
            "team": {"id": "T0001", "domain": "raad"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
            "api_app_id": "A0001",
            "token": "verification-token",
            "trigger_id": f"{n}.1.view{n}",
            "view": {
                "id": view_id or f"VSUB{n:05d}",
                "team_id": "T0001",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": f"{n}.hash",
            },
            "response_urls": [],
        }

    async def interact(self, payload: dict[str, Any], **kw: Any) -> tuple[int, str, float]:
        return await self.post(self.interaction_body(payload), **kw)

    async def response(self, name: str, within: float = 10.0) -> dict[str, Any]:
        """What the bot posted to a response_url (it answers after the ack)."""
        return await self.slack.response_to(name, within)

    async def api_call(self, method: str, count: int = 1, within: float = 10.0) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            calls = self.slack.calls_to(method)
            if len(calls) >= count:
                return calls[count - 1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"{method} was not called {count} time(s)")

    async def settle(self) -> None:
        """Wait for background work the handlers started (e-mail matching)."""
        while self.deps.tasks:
            await asyncio.gather(*self.deps.tasks, return_exceptions=True)

    async def drain(self) -> RunReport:
        return await drain(self.ctx, worker_id="test")


def answer_values(
    position: str, remarks: str = "", link: str | None = None, behalf: str = "own"
) -> dict[str, Any]:
    return {
        "position": {
            "position": {
                "type": "radio_buttons",
                "selected_option": {"value": position, "text": {"type": "plain_text", "text": "x"}},
            }
        },
        "remarks": {"remarks": {"type": "plain_text_input", "value": remarks or None}},
        "link": {"link": {"type": "url_text_input", "value": link}},
        "behalf": {
            "behalf": {
                "type": "radio_buttons",
                "selected_option": {"value": behalf, "text": {"type": "plain_text", "text": "x"}},
            }
        },
    }


def open_values(
    council: str,
    title: str,
    deadline: str,
    *,
    subject: str = "employment_plan",
    document: str | None = None,
    invitees: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "council": {"council": {"type": "static_select", "selected_option": {"value": council}}},
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "subject": {"subject": {"type": "static_select", "selected_option": {"value": subject}}},
        "document": {"document": {"type": "url_text_input", "value": document}},
        "deadline": {"deadline": {"type": "datepicker", "selected_date": deadline}},
        "invitees": {"invitees": {"type": "multi_users_select", "selected_users": invitees or []}},
    }


@asynccontextmanager
async def slack_world(
    database_url: str, tmp_path: Path, at: datetime, slack: SlackStandIn
) -> AsyncIterator[SlackWorld]:
    mail = tmp_path / "mail"
    (tmp_path / "config.toml").write_text(CONFIG.format(folder=mail.as_posix()), encoding="utf-8")
    environ = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
    }
    slack.users.update({u: {"email": e, "locale": "da-DK"} for u, e in USERS.items()})
    config = load_config(environ=environ, cwd=tmp_path)
    clock = FixedClock(at)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=clock.now(), actor="test")
            report = await import_members(s, MEMBERS.encode(), now=clock.now(), actor="test")
            assert report.rejected == 0, [line.text for line in report.lines]
            await sync_reminders(s, ctx)
        app, deps = build_slack_app(ctx, bot_user_id="UBOT")
        web_app = build_web_app(
            ctx.db, clock, Metrics(), lambda: True, slack=("/slack/events", http_route(app))
        )
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                yield SlackWorld(
                    ctx=ctx,
                    clock=clock,
                    slack=slack,
                    deps=deps,
                    url=f"http://127.0.0.1:{port}/slack/events",
                    mail=mail,
                    http=http,
                )
        finally:
            await runner.cleanup()
