"""The Slack app as a whole: its manifest, its two transports, and start-up checks."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml

from bot.config import load_config
from bot.runner import serve
from bot.services.app import open_app
from bot.slack_app import build_slack_app
from scheduler.clock import SystemClock
from tests.servers import METHODS_FILE, SlackStandIn
from tests.slack_world import SECRET, sign
from tests.test_packaging import _script

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "slack-manifest.yml"


def _manifest() -> dict[str, object]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


async def test_manifest_declares_exactly_the_commands_the_handlers_register(
    tmp_path: Path,
) -> None:
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    config = load_config(
        environ={
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            "SLACK_BOT_TOKEN": "xoxb-x",
            "SLACK_SIGNING_SECRET": SECRET,
        },
        cwd=tmp_path,
    )
    async with open_app(config, SystemClock()) as ctx:
        app, _ = build_slack_app(ctx)
    registered = sorted(app.aarshjul_commands)  # type: ignore[attr-defined]
    features = _manifest()["features"]
    assert isinstance(features, dict)
    declared = sorted(c["command"] for c in features["slash_commands"])
    assert declared == registered == ["/agenda", "/cycle", "/hearing", "/recommend", "/seminar"]


def test_manifest_asks_for_what_the_bot_uses_and_points_at_one_endpoint() -> None:
    m = _manifest()
    scopes = set(m["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    # commands; posting and posting in public channels; opening DMs; matching members.
    assert {"commands", "chat:write", "im:write", "users:read", "users:read.email"} <= scopes
    settings = m["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]  # type: ignore[index]
    assert settings["interactivity"]["is_enabled"] is True  # type: ignore[index]
    urls = {
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    }  # type: ignore[index]
    urls |= {c["url"] for c in m["features"]["slash_commands"]}  # type: ignore[index]
    assert len(urls) == 1 and next(iter(urls)).endswith("/slack/events")
    assert m["features"]["app_home"]["home_tab_enabled"] is True  # type: ignore[index]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(slack: SlackStandIn, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_")) and k != "DATABASE_URL"
    }
    env.update({"SLACK_API_URL": slack.base_url, "SLACK_BOT_TOKEN": "xoxb-test-token"})
    env.update(extra)
    return env


async def test_run_in_http_mode_verifies_signatures_on_its_real_endpoint(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    """``aarshjul run --mode http --port N``: /slack/events and /healthz on one port."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    port = _free_port()
    log = (tmp_path / "run.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        _script(),
        "run",
        "--mode",
        "http",
        "--port",
        str(port),
        cwd=tmp_path,
        env=_env(slack, SLACK_SIGNING_SECRET=SECRET),
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            health = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.returncode is None:
                try:
                    async with http.get(f"{base}/healthz") as r:
                        health = await r.json()
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            assert health is not None, (tmp_path / "run.log").read_text()
            assert health["status"] == "ok"
            body = urlencode(
                {
                    "command": "/hearing",
                    "text": "help",
                    "user_id": "UNOBODY1",
                    "channel_id": "C1",
                    "channel_name": "general",
                    "team_id": "T1",
                    "response_url": slack.response_url("help"),
                    "trigger_id": "1.2.3",
                }
            ).encode()
            now = int(time.time())

            async def post(signature: str, ts: int) -> int:
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(ts),
                    "X-Slack-Signature": signature,
                }
                async with http.post(f"{base}/slack/events", data=body, headers=headers) as r:
                    return r.status

            assert await post(sign(body, now, "forged-secret"), now) == 401
            assert await post(sign(body, now - 400), now - 400) == 401
            assert not slack.responses
            assert await post(sign(body, now), now) == 200
            answer = await slack.response_to("help", 20)
            assert "/hearing open" in answer["text"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        log.close()
    out = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, out
    assert "slack=http" in out
    assert "bad or stale Slack signature" in out


def test_http_mode_without_a_signing_secret_stops_naming_it(
    tmp_path: Path,
) -> None:
    import subprocess

    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_")) and k != "DATABASE_URL"
    }
    env["SLACK_BOT_TOKEN"] = "xoxb-x"
    result = subprocess.run(
        [_script(), "run", "--mode", "http", "--port", str(_free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


async def test_socket_mode_takes_commands_over_the_websocket(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    """With SLACK_APP_TOKEN the bot opens Socket Mode (no public URL) and acks envelopes."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    environ = _env(slack, SLACK_APP_TOKEN="xapp-1-test")
    environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    config = load_config(environ=environ, cwd=tmp_path)
    stop, started = asyncio.Event(), asyncio.Event()
    async with open_app(config, SystemClock()) as ctx:
        task = asyncio.create_task(
            serve(ctx, host="127.0.0.1", port=_free_port(), stop=stop, started=started)
        )
        try:
            await asyncio.wait_for(started.wait(), 60)
            await asyncio.wait_for(slack.socket_connected.wait(), 20)
            assert slack.calls_to("apps.connections.open")
            await slack.send_envelope(
                "slash_commands",
                {
                    "command": "/hearing",
                    "text": "help",
                    "user_id": "UNOBODY1",
                    "channel_id": "C1",
                    "channel_name": "general",
                    "team_id": "T1",
                    "response_url": slack.response_url("sock"),
                    "trigger_id": "1.2.3",
                },
                "env-1",
            )
            ack = await asyncio.wait_for(slack.socket_received.get(), 3)
            assert ack["envelope_id"] == "env-1"
            answer = await slack.response_to("sock", 20)
            assert "/hearing open" in answer["text"]
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("mode", ["sideways", "HTTPS"])
async def test_an_unknown_mode_is_refused(tmp_path: Path, mode: str) -> None:
    from bot.runner import slack_mode
    from scheduler.errors import ConfigError

    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    config = load_config(environ={}, cwd=tmp_path)
    async with open_app(config, SystemClock()) as ctx:
        with pytest.raises(ConfigError, match="--mode must be one of auto, http, socket, off"):
            slack_mode(ctx, mode)
    assert json.dumps(mode)


def _methods_the_bot_calls() -> set[str]:
    """Web API methods named in the source: ``_call("chat.postMessage")``, ``views_open(``."""
    found: set[str] = set()
    slack_code = [
        REPO / "bot" / "slack_app.py",
        REPO / "bot" / "delivery" / "slack.py",
        *(REPO / "bot" / "handlers").glob("*.py"),
    ]
    for path in slack_code:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'_call\(\s*"([A-Za-z]+\.[A-Za-z.]+)"', text))
        for name in re.findall(r"client\.([a-z]+)_([A-Za-z_]+)\(", text):
            found.add(f"{name[0]}.{name[1].replace('_', '.')}")
    return found


def test_manifest_scopes_cover_every_method_the_bot_calls() -> None:
    methods = _methods_the_bot_calls()
    assert {
        "chat.postMessage",
        "conversations.open",
        "users.lookupByEmail",
        "views.open",
    } <= methods
    spec = json.loads(METHODS_FILE.read_text(encoding="utf-8"))["methods"]
    # Slack's list is from 2021; the external upload came later. Its scopes are from
    # Slack's reference pages (docs.slack.dev/reference/methods/files.getUploadURLExternal
    # and files.completeUploadExternal: "files:write"). Only these may be missing.
    newer = {"files.getUploadURLExternal", "files.completeUploadExternal"}
    assert newer <= methods
    assert not newer & set(spec), "the list has them now: drop this supplement"
    spec = {**spec, **{m: {"scopes": ["files:write"]} for m in newer}}
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    # Slack's description still names the old split scopes of chat:write.
    granted = scopes | {s + ":bot" for s in scopes}
    for method in sorted(methods):
        needed = spec[method].get("scopes", ["none"])
        assert needed == ["none"] or granted & set(needed), (method, needed)
