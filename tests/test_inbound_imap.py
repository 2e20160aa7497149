"""The IMAP reader against a real Dovecot on loopback (issue 13, points 1 and 5).

Messages go into the mailbox with IMAP APPEND, as a mail server would put them; the
reader handles each once, then moves it to ``done`` (or ``failed``). The messages are
plain ones nobody claims (so these tests do not depend on the other handlers); where
"handled once" must be counted, a stand-in handler that writes an audit row takes the
handlers' place.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_config
from bot.services.app import AppContext, open_app
from bot.services.inbound import pipeline
from bot.services.inbound.imap import ImapReader, ImapSettings
from bot.services.inbound.message import Disposition
from scheduler.clock import FixedClock
from storage.inbound import InboundMessage
from storage.models import AuditLog
from tests.conftest import run_sync
from tests.imap_server import Dovecot, dovecot_missing, free_port
from tests.inbound_mail import huge, nested, nul_header, plain
from tests.test_inbound_pipeline import NOW, StandIn, write_config

pytestmark = pytest.mark.skipif(dovecot_missing() is not None, reason=dovecot_missing() or "")


class Crash(BaseException):
    """Stands for the process dying (SIGKILL) between the commit and the move."""


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A fresh Dovecot with an empty mailbox; skips, saying why, where there is none."""
    missing = dovecot_missing()
    if missing:
        pytest.skip(missing)
    with Dovecot(tmp_path / "dovecot") as server:
        yield server


def imap_env(server: Dovecot, **extra: str) -> dict[str, str]:
    return {
        "AARSHJUL__INBOUND__BACKEND": "imap",
        "AARSHJUL__INBOUND__HOST": server.host,
        "AARSHJUL__INBOUND__PORT": str(server.port),
        "AARSHJUL__INBOUND__TLS": "none",
        "IMAP_USERNAME": server.user,
        "IMAP_PASSWORD": server.password,
        **extra,
    }


@pytest.fixture
async def ctx(database_url: str, tmp_path: Path, dovecot: Dovecot) -> AsyncIterator[AppContext]:
    write_config(tmp_path)
    environ = {"DATABASE_URL": database_url, **imap_env(dovecot)}
    config = load_config(environ=environ, cwd=tmp_path)
    async with open_app(config, FixedClock(NOW)) as app:
        await app.db.upgrade()
        yield app


async def count_rows(ctx: AppContext, model: type = InboundMessage) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_same_message_appended_twice_is_handled_once(
    ctx: AppContext, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = StandIn()
    monkeypatch.setattr(pipeline, "handlers", lambda: (handler,))
    await dovecot.append(plain(1))
    await dovecot.append(plain(1))
    outcomes = await ImapReader(ctx).run_once()
    assert [o.kind for o in outcomes] == ["test", "duplicate"]
    assert handler.calls == 1 and await count_rows(ctx, AuditLog) == 1
    assert await count_rows(ctx) == 1
    assert await dovecot.count("INBOX") == 0 and await dovecot.count("done") == 2
    # done and failed were created on first connect.
    assert {"INBOX", "done", "failed"} <= set(await dovecot.folders())


async def test_a_crash_between_commit_and_move_is_only_moved_after_restart(
    ctx: AppContext, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = StandIn()
    monkeypatch.setattr(pipeline, "handlers", lambda: (handler,))

    class DiesBeforeMoving(ImapReader):
        async def move(self, client, uid, folder):  # type: ignore[no-untyped-def]
            raise Crash

    await dovecot.append(plain(2))
    with pytest.raises(Crash):
        await DiesBeforeMoving(ctx).run_once()
    # Committed, not moved: the message is still in the inbox.
    assert await count_rows(ctx) == 1 and await dovecot.count("INBOX") == 1
    outcomes = await ImapReader(ctx).run_once()
    assert [(o.kind, o.disposition) for o in outcomes] == [("duplicate", Disposition.HANDLED)]
    assert handler.calls == 1 and await count_rows(ctx, AuditLog) == 1
    assert await dovecot.count("INBOX") == 0 and await dovecot.count("done") == 1


async def test_hostile_messages_go_to_failed_and_the_reader_keeps_going(
    ctx: AppContext, dovecot: Dovecot
) -> None:
    for raw in (huge(30), nested(200), nul_header(), plain(3)):
        await dovecot.append(raw)
    reader = ImapReader(ctx)
    outcomes = await reader.run_once()
    assert [(o.disposition, o.summary_key) for o in outcomes] == [
        (Disposition.FAILED, "inbound.malformed.too_big"),
        (Disposition.FAILED, "inbound.malformed.too_deep"),
        (Disposition.FAILED, "inbound.malformed.header_control"),
        (Disposition.IGNORED, "inbound.outcome.not_for_us"),
    ]
    assert await dovecot.count("failed") == 3 and await dovecot.count("done") == 1
    assert await dovecot.count("INBOX") == 0
    async with ctx.db.session() as session:
        result = await session.exec(select(InboundMessage).order_by(InboundMessage.id))  # type: ignore[call-overload]
        big = result.all()[0][0]
    # The 30 MB message was judged by RFC822.SIZE: never downloaded, never hashed.
    assert big.message_id == "<huge@example.dk>" and big.sha256 is None and big.raw is None
    assert big.size > 30 * 1024 * 1024
    # The reasons are kept, in the secretariat's language.
    assert "Beskeden er for stor" in big.summary


async def test_without_move_it_copies_flags_and_expunges(ctx: AppContext, tmp_path: Path) -> None:
    with Dovecot(tmp_path / "nomove", move=False, idle=False) as server:
        settings = ImapSettings.from_context(ctx)
        reader = ImapReader(ctx, _at(settings, server))
        await server.append(plain(4))
        await server.append(nul_header())
        client = await reader.connect()
        try:
            assert not client.has_capability("MOVE")
            await reader.drain(client)
        finally:
            await client.logout()
        assert await server.count("INBOX") == 0
        assert await server.count("done") == 1 and await server.count("failed") == 1


def _at(settings: ImapSettings, server: Dovecot, **changes: object) -> ImapSettings:
    values: dict[str, object] = {"host": server.host, "port": server.port, **changes}
    return replace(settings, **values)  # type: ignore[arg-type]


async def test_idle_wakes_the_reader_when_mail_arrives(ctx: AppContext, dovecot: Dovecot) -> None:
    # A poll interval far beyond the test: only IDLE's push can bring the new message in.
    reader = ImapReader(ctx, _at(ImapSettings.from_context(ctx), dovecot, poll_seconds=600.0))
    reader.start()
    try:
        await asyncio.wait_for(reader.wait_passes(1), 30)
        await dovecot.append(plain(5))
        await asyncio.wait_for(reader.wait_passes(2), 30)
        assert [o.kind for o in reader.outcomes] == ["not_for_us"]
    finally:
        await reader.stop()
    assert await dovecot.count("done") == 1


async def test_without_idle_a_poke_starts_the_next_pass(ctx: AppContext, tmp_path: Path) -> None:
    with Dovecot(tmp_path / "noidle", idle=False) as server:
        settings = _at(ImapSettings.from_context(ctx), server, poll_seconds=600.0)
        reader = ImapReader(ctx, settings)
        reader.start()
        try:
            await asyncio.wait_for(reader.wait_passes(1), 30)
            await server.append(plain(6))
            reader.poke()
            await asyncio.wait_for(reader.wait_passes(2), 30)
        finally:
            await reader.stop()
        assert [o.kind for o in reader.outcomes] == ["not_for_us"]
        assert await server.count("done") == 1


async def test_without_idle_the_reader_polls_every_poll_seconds(
    ctx: AppContext, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "poll", idle=False) as server:
        reader = ImapReader(ctx, _at(ImapSettings.from_context(ctx), server, poll_seconds=1.0))
        reader.start()
        try:
            await asyncio.wait_for(reader.wait_passes(1), 30)
            await server.append(plain(10))
            # No IDLE, no poke: only the poll brings it in (within 30 s, not the default 60).
            await asyncio.wait_for(reader.wait_passes(reader.passes + 2), 30)
        finally:
            await reader.stop()
        assert [o.kind for o in reader.outcomes] == ["not_for_us"]
        assert await server.count("done") == 1


async def test_the_reader_reconnects_when_the_server_comes_back(
    ctx: AppContext, tmp_path: Path
) -> None:
    port = free_port()
    settings = replace(ImapSettings.from_context(ctx), port=port, poll_seconds=600.0)
    reader = ImapReader(ctx, settings, timeout=5)
    reader.start()  # its first connect is refused: nothing listens on the port yet
    try:
        with Dovecot(tmp_path / "late", port=port) as server:
            await server.append(plain(7))
            reader.poke()  # cut the backoff short instead of waiting it out
            await asyncio.wait_for(reader.wait_passes(1), 30)
            assert [o.kind for o in reader.outcomes] == ["not_for_us"]
            assert await server.count("done") == 1
            await reader.stop()
    finally:
        await reader.stop()


async def test_implicit_tls_and_starttls(ctx: AppContext, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    with Dovecot(tmp_path / "tls", tls=True) as server:
        base = _at(ImapSettings.from_context(ctx), server)
        context = server.client_ssl_context()
        await server.append(plain(8))
        await server.append(plain(9))
        implicit_at = _at(base, server, port=server.tls_port, tls="implicit")
        implicit = ImapReader(ctx, implicit_at, ssl_context=context)
        client = await implicit.connect()
        try:
            await implicit.handle_one(client, 1)
        finally:
            await client.logout()
        starttls = ImapReader(ctx, _at(base, server, tls="starttls"), ssl_context=context)
        client = await starttls.connect()
        try:
            assert client.protocol.transport.get_extra_info("ssl_object") is not None
            await starttls.handle_one(client, 2)
        finally:
            await client.logout()
        assert await server.count("done") == 2


# -- a real `aarshjul run`, killed ------------------------------------------------


def test_sigkill_of_aarshjul_run_then_restart_handles_each_message_once(
    database_url: str, tmp_path: Path, dovecot: Dovecot
) -> None:
    """SIGKILL a running bot while it reads the mailbox, start it again: every message
    ends in done exactly once, and each is recorded once."""
    script = Path(sys.executable).parent / "aarshjul"
    config = write_config(tmp_path)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_", "IMAP_")) and k != "DATABASE_URL"
    }
    env.update(imap_env(dovecot), DATABASE_URL=database_url, AARSHJUL_CONFIG=str(config))
    messages = 40
    for n in range(messages):
        run_sync(lambda n=n: dovecot.append(plain(100 + n)))

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(script if script.exists() else shutil.which("aarshjul")), "run", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "run.log", "ab"),
        )

    def recorded() -> int:
        async def go() -> int:
            config_ = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
            async with open_app(config_, FixedClock(NOW)) as app:
                try:
                    return await count_rows(app)
                except Exception:  # the schema is not there yet
                    return 0

        return int(run_sync(go))

    def inbox():  # type: ignore[no-untyped-def]
        return dovecot.count("INBOX")

    first = start()
    try:
        deadline = time.monotonic() + 90
        while recorded() < 5:  # the world outside: another process's rows
            assert first.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = recorded()
    # Killed part-way: some messages recorded, the rest still to come.
    assert 5 <= killed_at < messages, killed_at
    print("recorded when killed:", killed_at, "still in INBOX:", run_sync(inbox))
    second = start()
    try:
        deadline = time.monotonic() + 90
        while run_sync(lambda: dovecot.count("done")) < messages:
            assert second.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    assert run_sync(lambda: dovecot.count("INBOX")) == 0
    assert run_sync(lambda: dovecot.count("done")) == messages
    assert recorded() == messages
    assert "Traceback" not in (tmp_path / "run.log").read_text()


async def test_the_running_reader_purges_old_raw_messages(
    ctx: AppContext, dovecot: Dovecot
) -> None:
    await pipeline.handle_raw(ctx, plain(20), "file")
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.set(NOW + timedelta(days=91))
    reader = ImapReader(ctx, _at(ImapSettings.from_context(ctx), dovecot, poll_seconds=600.0))
    reader.start()
    try:
        await asyncio.wait_for(reader.wait_passes(1), 30)
    finally:
        await reader.stop()
    async with ctx.db.session() as session:
        row = (await session.exec(select(InboundMessage))).first()  # type: ignore[call-overload]
    assert row is not None and row[0].raw is None and row[0].sha256 is not None


async def test_aarshjul_run_refuses_imap_without_credentials(
    ctx: AppContext, tmp_path: Path
) -> None:
    from bot.i18n import error_text
    from bot.runner import inbound_reader
    from scheduler.errors import ConfigError

    config = load_config(
        environ={"AARSHJUL__INBOUND__BACKEND": "imap", "AARSHJUL__INBOUND__HOST": "x"},
        cwd=tmp_path,
    )
    bare = AppContext(config, ctx.db, ctx.clock, ctx.template, ctx.calendar)
    with pytest.raises(ConfigError) as caught:
        inbound_reader(bare)
    assert "kræver IMAP_USERNAME og IMAP_PASSWORD" in error_text(caught.value, "da")
    none = load_config(environ={}, cwd=tmp_path)
    assert inbound_reader(AppContext(none, ctx.db, ctx.clock, ctx.template, ctx.calendar)) is None
