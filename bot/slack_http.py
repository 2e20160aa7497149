"""The HTTP edge of the Slack app: verify first, then parse, then hand over to Bolt.

Nothing reads a request's body as data before its signature and a numeric, fresh
timestamp are checked (HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing
secret, as Slack documents). A request that fails is answered 401 and nothing else
happens: no listener runs, no error handler answers through its ``response_url``.
A verified request that is not the shape Slack sends (invalid UTF-8, a ``payload``
that is not a JSON object, a view without ``state``, ``private_metadata`` that is not
JSON) is answered 400 with a short JSON error and one WARNING line: it changes nothing.
Only a real bug may give 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.observability import log_event

log = logging.getLogger("aarshjul.slack")

#: Slack refuses requests older than five minutes; so do we (replays).
MAX_AGE_SECONDS = 300
#: Far above any payload Slack sends (a modal of 100 blocks is some 100 kB).
MAX_BODY_BYTES = 1_000_000
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
#: Where Slack's own response URLs point.
SLACK_HOOKS_HOST = "hooks.slack.com"


class Refused(Exception):
    """A request answered without reaching Bolt: 401 (not verified) or 400 (malformed)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def verify(headers: Mapping[str, str], body: bytes, secret: str | None, *, now: float) -> None:
    """Raise :class:`Refused` (401) unless the request is signed with ``secret``
    and its timestamp is a whole number of seconds within five minutes of ``now``."""
    if not secret:
        raise Refused(401, "no signing secret is configured")
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(stamp):
        raise Refused(401, "the request timestamp is not a number")
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        raise Refused(401, "the request timestamp is stale")
    if not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "the signature is malformed")
    base = b"v0:" + stamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused(401, "the signature does not match")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _require(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        raise Refused(400, f"{what} is missing or not a {kind.__name__}")
    return value


def _check_payload(payload: dict[str, Any]) -> None:
    kind = _require(payload.get("type"), str, "payload.type")
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action"):
        user = _require(payload.get("user"), dict, "payload.user")
        _require(user.get("id"), str, "payload.user.id")
    if kind == "block_actions":
        actions = _require(payload.get("actions"), list, "payload.actions")
        for action in actions:
            _require(action, dict, "an action")
            _require(action.get("action_id"), str, "action.action_id")
    if kind in ("view_submission", "view_closed"):
        view = _require(payload.get("view"), dict, "payload.view")
        _require(view.get("callback_id"), str, "view.callback_id")
        _require(view.get("id"), str, "view.id")
        meta = view.get("private_metadata") or ""
        _require(meta, str, "view.private_metadata")
        if meta:
            _json_object(meta, "view.private_metadata")
    if kind == "view_submission":
        state = _require(view.get("state"), dict, "view.state")
        values = _require(state.get("values"), dict, "view.state.values")
        for block in values.values():
            _require(block, dict, "a view.state.values block")
            for element in block.values():
                _require(element, dict, "a view.state.values element")


def check_shape(content_type: str, body: bytes) -> str:
    """The body as text if it is the shape Slack sends, else :class:`Refused` (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        event = _json_object(text, "the body")
        _require(event.get("type"), str, "type")
        return text
    if mime != "application/x-www-form-urlencoded":
        raise Refused(400, f"unexpected content type {mime or '-'}")
    try:
        form = parse_qs(text, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the form is not valid") from None
    if "payload" in form:
        _check_payload(_json_object(form["payload"][0], "payload"))
    elif "ssl_check" not in form:
        for name in ("command", "user_id", "team_id"):
            if not form.get(name, [""])[0]:
                raise Refused(400, f"the command has no {name}")
    return text


def response_url_allowed(url: str | None, api_url: str) -> bool:
    """Only Slack's own hooks (or, in tests, the configured Web API's host) are answered."""
    if not url:
        return False
    try:
        target = urlsplit(url)
        api = urlsplit(api_url)
        target_port, api_port = target.port, api.port
    except ValueError:
        return False
    if target.scheme == "https" and target.hostname == SLACK_HOOKS_HOST and target_port is None:
        return True
    return api.hostname != "slack.com" and (target.scheme, target.hostname, target_port) == (
        api.scheme,
        api.hostname,
        api_port,
    )


@dataclass
class SlackEdge:
    """What the HTTP route needs besides the app: the secret and a wall clock.

    The wall clock is the real time of the transport (Slack signs with it), not the
    product's injected clock.
    """

    secret: str | None
    wall: Callable[[], float] = time.time

    def route(self, app: AsyncApp) -> Callable[[web.Request], Any]:
        """The aiohttp view for ``POST /slack/events``."""

        async def slack_events(request: web.Request) -> web.StreamResponse:
            if (request.content_length or 0) > MAX_BODY_BYTES:
                return _refuse(Refused(413, "the body is too large"))
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return _refuse(Refused(413, "the body is too large"))
            try:
                verify(request.headers, body, self.secret, now=self.wall())
                text = check_shape(request.headers.get("Content-Type", ""), body)
            except Refused as refused:
                return _refuse(refused)
            bolt_request = AsyncBoltRequest(
                body=text,
                query=request.query_string,
                headers={k.lower(): list(request.headers.getall(k)) for k in request.headers},
            )
            bolt_response = await app.async_dispatch(bolt_request)
            if bolt_response.status == 401:
                log_event(log, "refused", logging.WARNING, why="bad or stale Slack signature")
            return await to_aiohttp_response(bolt_response)

        return slack_events


def _refuse(refused: Refused) -> web.Response:
    reason = "unauthorized" if refused.status == 401 else "bad_request"
    if refused.status == 401:
        log_event(
            log, "refused", logging.WARNING, why=f"bad or stale Slack signature: {refused.why}"
        )
    else:
        log_event(log, "malformed", logging.WARNING, status=refused.status, why=refused.why)
    return web.json_response({"ok": False, "error": reason}, status=refused.status)
