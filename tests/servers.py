"""Real servers on loopback for integration tests and benchmarks.

* :class:`SlackStandIn`: a Slack-compatible Web API (aiohttp) that records every
  call and can answer 429 with ``Retry-After``, 500, or a Slack error, by method.
* :class:`SmtpStandIn`: an aiosmtpd SMTP server in the caller's event loop that
  records every message and can answer 451, drop the connection, or refuse a
  recipient with 550.

Both bind port 0 in the running loop, so there is no thread and no port race.
:class:`StandInsThread` runs both in a thread of their own, for a test that drives
real ``aarshjul`` processes from synchronous code.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.slack_rules import FileUploads, message_error


@dataclass
class RecordedCall:
    method: str
    args: dict[str, Any]
    at: float
    status: int
    #: The "ok" of the JSON answer (False for HTTP errors).
    ok: bool = False
    #: The JSON answer (empty for HTTP errors).
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    retry_after: int | None = None
    error: str | None = None


#: Slack's own list of methods and their required arguments (from its OpenAPI
#: description), when the machine has it; AARSHJUL_SLACK_METHODS names another copy.
METHODS_FILE = Path(
    os.environ.get("AARSHJUL_SLACK_METHODS", "/work/shared/slack-web-api-methods.json")
)


def required_arguments(path: Path = METHODS_FILE) -> dict[str, frozenset[str]]:
    """Method → required arguments (the token travels in the header), or {} without the file."""
    try:
        methods = json.loads(path.read_text(encoding="utf-8"))["methods"]
    except (OSError, ValueError, KeyError):
        return {}
    return {
        name: frozenset(spec.get("required", ())) - {"token"}
        for name, spec in methods.items()
        if isinstance(spec, dict)
    }


class SlackStandIn:
    """Answers the Web API methods the bot uses, as Slack documents them.

    A call that lacks an argument Slack requires is refused with
    ``invalid_arguments``, as Slack would, when Slack's method list is at hand; a
    message over Slack's limits gets Slack's error code, and files come in through
    the external upload (:mod:`tests.slack_rules`).
    """

    def __init__(self) -> None:
        self.required = required_arguments()
        self.calls: list[RecordedCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._channel_errors: dict[str, str] = {}
        self._user_errors: dict[str, str] = {}
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.delay = 0.0
        #: Slack users the stand-in knows: id → {"email": …, "locale": …}.
        self.users: dict[str, dict[str, str]] = {}
        #: What the bot posted to response_urls, in order.
        self.responses: list[dict[str, Any]] = []
        self._responded = asyncio.Event()
        self._views = itertools.count(1)
        #: Socket Mode: the bot's open websocket, and what it sent us (acks).
        self.socket: web.WebSocketResponse | None = None
        self.socket_connected = asyncio.Event()
        self.socket_received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Files uploaded through files.getUploadURLExternal and shared.
        self.uploads = FileUploads()
        self._channel_ids: dict[str, str] = {}
        #: Sign in with Slack: the app's client credentials, who signs in next at the
        #: authorisation page, and the codes and tokens handed out for it.
        self.oidc_client = ("CLIENT-ID", "client-secret")
        self.oidc_next_user: dict[str, Any] | None = None
        self._oidc_codes: dict[str, tuple[dict[str, Any], str, str]] = {}
        self._oidc_tokens: dict[str, dict[str, Any]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def fail_next(
        self, method: str, *, status: int, count: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``count`` calls of ``method`` answer ``status`` (429 with Retry-After)."""
        queue = self._faults.setdefault(method, deque())
        queue.extend(_Fault(status, retry_after) for _ in range(count))

    def error_for_channel(self, channel: str, error: str) -> None:
        self._channel_errors[channel] = error

    def error_for_user(self, user: str, error: str) -> None:
        self._user_errors[user] = error

    def channel_id(self, channel: str) -> str:
        """The id Slack gives a channel posted to by name (``#lbr-test`` → ``C…``)."""
        if channel[:1] in ("C", "D", "G") and channel[1:].isalnum() and channel.isupper():
            return channel
        return self._channel_ids.setdefault(channel, f"C{len(self._channel_ids) + 1:08d}")

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def posted(self) -> list[RecordedCall]:
        """chat.postMessage calls that posted a message."""
        return [c for c in self.calls_to("chat.postMessage") if c.ok]

    async def start(self) -> SlackStandIn:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        # slack_sdk sends a few methods (users.info, users.lookupByEmail) as GET.
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket_mode)
        app.router.add_get("/openid/connect/authorize", self._oidc_authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def response_url(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode end: say hello, then pass envelopes and collect acks."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        self.socket_connected.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.socket_received.put(json.loads(message.data))
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        assert self.socket is not None
        await self.socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )

    async def _response(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        body["_to"] = request.match_info["name"]
        self.responses.append(body)
        self._responded.set()
        return web.Response(text="ok")

    async def response_to(self, name: str, within: float = 10.0) -> dict[str, Any]:
        """The bot's post to the response_url ``name`` (it answers after its ack)."""
        async with asyncio.timeout(within):
            while True:
                for r in self.responses:
                    if r["_to"] == name:
                        return r
                self._responded.clear()
                await self._responded.wait()

    async def _upload(self, request: web.Request) -> web.Response:
        """The bytes of a file, POSTed to the upload_url files.getUploadURLExternal gave."""
        file_id = request.match_info["file_id"]
        body = await request.read()
        status = self.uploads.receive(file_id, body)
        self.calls.append(RecordedCall("upload", {"file_id": file_id}, time.monotonic(), status))
        self.calls[-1].ok = status == 200
        return web.Response(status=status, text="OK" if status == 200 else "Not Found")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.method == "GET":
            args = dict(request.query)
        elif request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
        if self.delay:
            await asyncio.sleep(self.delay)
        queue = self._faults.get(method)
        if queue:
            fault = queue.popleft()
            self.calls.append(RecordedCall(method, args, time.monotonic(), fault.status))
            if fault.status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(fault.retry_after or 1)},
                )
            return web.Response(status=fault.status, text="Internal Server Error")
        call = RecordedCall(method, args, time.monotonic(), 200)
        self.calls.append(call)
        if method.startswith("openid.connect."):
            answer = self._oidc(method, args, request.headers.get("Authorization", ""))
            call.ok, call.answer = bool(answer.get("ok")), answer
            return web.json_response(answer)
        token_kind = "xapp-" if method == "apps.connections.open" else "xoxb-"
        if not request.headers.get("Authorization", "").startswith(f"Bearer {token_kind}"):
            return web.json_response({"ok": False, "error": "not_authed"})
        missing = self.required.get(method, frozenset()) - set(args)
        answer = (
            {"ok": False, "error": "invalid_arguments", "missing": sorted(missing)}
            if missing and method != "chat.postMessage"
            else self._answer(method, args)
        )
        call.ok, call.answer = bool(answer.get("ok")), answer
        return web.json_response(answer)

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openid/connect/authorize"

    async def _oidc_authorize(self, request: web.Request) -> web.Response:
        """Slack's authorisation page, as if ``oidc_next_user`` had pressed Allow."""
        q = request.query
        self.calls.append(RecordedCall("openid.authorize", dict(q), time.monotonic(), 302))
        if q.get("client_id") != self.oidc_client[0] or q.get("response_type") != "code":
            return web.Response(status=400, text="invalid_client_id")
        if set(q.get("scope", "").split()) != {"openid", "email", "profile"}:
            return web.Response(status=400, text="invalid_scope")
        if self.oidc_next_user is None:
            target = f"{q['redirect_uri']}?error=access_denied&state={q.get('state', '')}"
            raise web.HTTPFound(target)
        code = f"code-{next(self._ts)}"
        self._oidc_codes[code] = (self.oidc_next_user, q.get("nonce", ""), q["redirect_uri"])
        raise web.HTTPFound(f"{q['redirect_uri']}?code={code}&state={q.get('state', '')}")

    def _oidc(self, method: str, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        if method == "openid.connect.token":
            expected = "Basic " + base64.b64encode(":".join(self.oidc_client).encode()).decode()
            given = (args.get("client_id"), args.get("client_secret"))
            if authorization != expected and given != self.oidc_client:
                return {"ok": False, "error": "invalid_client_id"}
            found = self._oidc_codes.pop(str(args.get("code", "")), None)
            if found is None:
                return {"ok": False, "error": "invalid_code"}
            user, nonce, redirect_uri = found
            if args.get("redirect_uri") != redirect_uri:
                return {"ok": False, "error": "bad_redirect_uri"}
            token = f"xoxp-oidc-{next(self._ts)}"
            self._oidc_tokens[token] = user
            claims = {"iss": "https://slack.com", "sub": user["id"], "nonce": nonce}
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return {
                "ok": True,
                "access_token": token,
                "token_type": "Bearer",
                "id_token": f"eyJhbGciOiJSUzI1NiJ9.{body}.signature",
            }
        if method == "openid.connect.userInfo":
            user = self._oidc_tokens.get(authorization.removeprefix("Bearer "))
            if user is None:
                return {"ok": False, "error": "invalid_auth"}
            return {
                "ok": True,
                "sub": user["id"],
                "https://slack.com/user_id": user["id"],
                "https://slack.com/team_id": "T0001",
                "email": user.get("email", ""),
                "email_verified": user.get("email_verified", True),
                "name": user.get("name", ""),
                "locale": "da-DK",
            }
        return {"ok": False, "error": "unknown_method"}

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in ("chat.postEphemeral", "chat.update") and message_error(args):
            return {"ok": False, "error": message_error(args)}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0001"}
        if method == "conversations.open":
            user = str(args.get("users", ""))
            if not user:
                return {"ok": False, "error": "invalid_arguments"}
            if user in self._user_errors:
                return {"ok": False, "error": self._user_errors[user]}
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if channel in self._channel_errors:
                return {"ok": False, "error": self._channel_errors[channel]}
            if not args.get("text") and not args.get("blocks"):
                return {"ok": False, "error": "no_text"}
            error = message_error(args)
            if error:
                return {"ok": False, "error": error}
            ts = f"1700000000.{next(self._ts):06d}"
            # Slack answers with the channel's id, also when it was posted to by name.
            return {
                "ok": True,
                "channel": self.channel_id(channel),
                "ts": ts,
                "message": {"ts": ts},
            }
        if method == "files.getUploadURLExternal":
            return self.uploads.get_upload_url(args, f"http://127.0.0.1:{self.port}/")
        if method == "files.completeUploadExternal":
            return self.uploads.complete(args)
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "chat.getPermalink":
            channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            }
        if method in ("views.open", "views.publish", "views.push", "views.update"):
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else view or {}
            return {"ok": True, "view": {**view, "id": f"V{next(self._views):08d}"}}
        if method == "users.info":
            user = str(args.get("user", ""))
            known = self.users.get(user)
            if known is None:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "locale": known.get("locale", "da-DK"),
                    "profile": {"email": known.get("email", "")},
                },
            }
        if method == "users.lookupByEmail":
            email = str(args.get("email", "")).lower()
            for user, known in self.users.items():
                if known.get("email", "").lower() == email:
                    return {"ok": True, "user": {"id": user, "profile": {"email": email}}}
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True}


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: Message = field(repr=False)

    @property
    def message_id(self) -> str | None:
        return self.message["Message-ID"]


class _Handler:
    def __init__(self, owner: SmtpStandIn) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        code = self.owner.refused.get(address.lower())
        if code:
            return f"{code} 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        if owner.tempfail > 0:
            owner.tempfail -= 1
            owner.tempfailed += 1
            return "451 4.3.0 Try again later"
        if owner.drop_after is not None:
            if owner.drop_after <= 0:
                owner.drop_after = None
                owner.dropped += 1
                # Close without an answer: the client sees the connection die after DATA.
                server.transport.close()
                return "421 closing"
            owner.drop_after -= 1
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        owner.messages.append(
            ReceivedMail(
                str(envelope.mail_from), list(envelope.rcpt_tos), data, message_from_bytes(data)
            )
        )
        return "250 OK"


class SmtpStandIn:
    """An SMTP server in the running loop; faults are counters the test sets."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.refused: dict[str, int] = {}
        self.tempfail = 0
        self.tempfailed = 0
        self.drop_after: int | None = None
        self.dropped = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    def reject_recipient(self, address: str, code: int = 550) -> None:
        self.refused[address.lower()] = code

    def message_ids(self) -> list[str]:
        return [m.message_id or "" for m in self.messages]

    async def start(self) -> SmtpStandIn:
        loop = asyncio.get_running_loop()
        handler = _Handler(self)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="localhost", loop=loop), self.host, 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> SmtpStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class StandInsThread:
    """A Slack stand-in and an SMTP stand-in in an event loop of their own thread.

    For tests that start real processes and wait for them from synchronous code::

        with StandInsThread() as servers:
            servers.slack.delay = 5.0  # read and set from this thread; lists are copied
            ... servers.slack.base_url, servers.smtp.port ...
    """

    def __init__(self) -> None:
        self.slack = SlackStandIn()
        self.smtp = SmtpStandIn()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stand-ins", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with self.slack, self.smtp:
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # reported to the test's thread
            self._error = exc
            self._ready.set()

    def __enter__(self) -> StandInsThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self._loop.close()

    def posted_channels(self) -> list[str]:
        """The channel of every chat.postMessage that posted, in order."""
        return [str(c.args.get("channel")) for c in list(self.slack.calls) if
                c.method == "chat.postMessage" and c.ok]  # fmt: skip

    def mail_ids(self) -> list[str]:
        """The Message-ID of every e-mail accepted, in order."""
        return [m.message_id or "" for m in list(self.smtp.messages)]

    def delivered(self) -> int:
        """Slack posts and e-mails so far."""
        return len(self.posted_channels()) + len(self.smtp.messages)
