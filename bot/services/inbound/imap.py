"""The IMAP reader: ``aarshjul run`` reads the secretariat's mailbox with it.

aioimaplib, not imap-tools: the bot is one asyncio process, and aioimaplib speaks IMAP
on the event loop (IDLE included) where imap-tools is synchronous imaplib and would
need a thread per mailbox plus hand-made wake-ups between it and the loop.

Each pass reads every message in ``[inbound] folder`` by UID: first its RFC822.SIZE
(a message larger than ``max_bytes`` is refused from its header alone, never
downloaded), then the message, handled through :func:`pipeline.handle_raw`; only after
that committed is it moved (MOVE, or COPY + STORE \\Deleted + EXPUNGE) to
``done_folder`` or ``failed_folder``. A crash between the commit and the move leaves the
message in the folder; the next pass finds it recorded and only moves it. One bad
message never stops the pass; a lost connection or database is retried with backoff.
Between passes the reader IDLEs when the server offers it, else polls every
``poll_seconds``; :meth:`ImapReader.poke` starts a pass at once (tests, no sleeps).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import ssl
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aioimaplib
from aioimaplib.aioimaplib import Command

from bot.i18n import user_error
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.inbound import pipeline
from bot.services.inbound.message import Disposition, Outcome
from scheduler.errors import AarshjulError, ConfigError
from storage.db import unavailable

log = logging.getLogger("aarshjul.inbound")

#: Waits between reconnects: doubling from the first to the last.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
#: Raw messages past ``keep_raw_days`` are forgotten this often while the reader runs.
PURGE_EVERY = timedelta(days=1)
#: How many outcomes :attr:`ImapReader.outcomes` keeps.
OUTCOMES_KEPT = 200
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(AarshjulError, ConnectionError):
    """The IMAP server refused a command or the connection broke; the reader retries."""


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to connect; built from ``[inbound]`` and the IMAP_* secrets."""

    host: str
    port: int
    tls: str
    username: str
    password: str = field(repr=False)
    folder: str
    done_folder: str
    failed_folder: str
    poll_seconds: float
    max_bytes: int

    @classmethod
    def from_context(cls, ctx: AppContext) -> ImapSettings:
        """The settings, or a ConfigError naming what is missing."""
        inbound = ctx.config.settings.inbound
        secrets = ctx.config.secrets
        if not secrets.imap_username or secrets.imap_password is None:
            raise user_error(ConfigError, "inbound.config.no_credentials")
        return cls(
            host=inbound.host,
            port=inbound.port,
            tls=inbound.tls,
            username=secrets.imap_username,
            password=secrets.imap_password.get_secret_value(),
            folder=inbound.folder,
            done_folder=inbound.done_folder,
            failed_folder=inbound.failed_folder,
            poll_seconds=float(inbound.poll_seconds),
            max_bytes=inbound.max_bytes,
        )


class ImapReader:
    """Reads one mailbox folder until stopped; see the module's docstring."""

    def __init__(
        self,
        ctx: AppContext,
        settings: ImapSettings | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.ctx = ctx
        self.settings = settings or ImapSettings.from_context(ctx)
        self.ssl_context = ssl_context
        self.timeout = timeout
        #: The latest outcomes, oldest first (tests and a look at a running reader).
        self.outcomes: deque[Outcome] = deque(maxlen=OUTCOMES_KEPT)
        #: Completed passes over the folder.
        self.passes = 0
        self.connected = False
        self._poke = asyncio.Event()
        self._progress = asyncio.Condition()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._purged_at: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Run :meth:`serve` in the background until :meth:`stop`."""
        self._stop.clear()
        self._task = asyncio.create_task(self.serve(), name="imap-reader")

    async def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, timeout=self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def poke(self) -> None:
        """Start the next pass now instead of after IDLE or the poll interval."""
        self._poke.set()

    async def wait_passes(self, count: int) -> None:
        """Wait until ``count`` passes are complete (tests wrap it in a timeout)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.passes >= count)

    async def serve(self) -> None:
        """Connect, pass, wait (IDLE or poll), pass … ; reconnect with backoff on errors."""
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            client: aioimaplib.IMAP4 | None = None
            try:
                client = await self.connect()
                backoff = BACKOFF_FIRST
                while not self._stop.is_set():
                    await self._purge()
                    await self.drain(client)
                    await self._passed()
                    await self._wait(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                why = unavailable(exc) if not isinstance(exc, ImapError) else str(exc)
                if why is None and not isinstance(exc, aioimaplib.AioImapException | OSError):
                    log.exception("the IMAP reader failed; it reconnects")
                    why = type(exc).__name__
                log_event(log, "imap-retry", logging.WARNING, why=why or str(exc), wait=backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                self.connected = False
                if client is not None:
                    await self._logout(client)

    async def run_once(self) -> list[Outcome]:
        """Connect, handle every message in the folder once, log out; the outcomes."""
        client = await self.connect()
        try:
            outcomes = await self.drain(client)
            await self._passed()
        finally:
            await self._logout(client)
        return outcomes

    # -- the protocol ----------------------------------------------------------------

    async def connect(self) -> aioimaplib.IMAP4:
        """Connected, logged in, folders made, ``folder`` selected."""
        s = self.settings
        if s.tls == "implicit":
            context = self.ssl_context or ssl.create_default_context()
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                host=s.host, port=s.port, timeout=self.timeout, ssl_context=context
            )
        else:
            client = aioimaplib.IMAP4(host=s.host, port=s.port, timeout=self.timeout)
        try:
            await client.wait_hello_from_server()
            if s.tls == "starttls":
                await self._starttls(client)
            response = await client.login(s.username, s.password)
            _ok(response, "LOGIN")
            for folder in (s.done_folder, s.failed_folder):
                await self._ensure_folder(client, folder)
            _ok(await client.select(_mailbox(s.folder)), f"SELECT {s.folder}")
        except BaseException:
            await self._logout(client)
            raise
        self.connected = True
        log_event(
            log,
            "imap-connected",
            host=s.host,
            port=s.port,
            tls=s.tls,
            folder=s.folder,
            idle=client.has_capability("IDLE"),
            move=client.has_capability("MOVE"),
        )
        return client

    async def drain(self, client: aioimaplib.IMAP4) -> list[Outcome]:
        """Handle every message now in the folder; one failing does not stop the rest."""
        # A NOOP first: the server announces (and so lets SEARCH see) mail that arrived
        # since the last command; SEARCH alone may not report unannounced messages.
        _ok(await client.noop(), "NOOP")
        response = await client.uid_search("ALL", charset=None)
        _ok(response, "UID SEARCH")
        uids = [
            int(word)
            for line in response.lines[:-1]
            for word in bytes(line).split()
            if word.isdigit()
        ]
        outcomes: list[Outcome] = []
        for uid in uids:
            if self._stop.is_set():
                break
            try:
                outcome = await self.handle_one(client, uid)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, ImapError | aioimaplib.AioImapException | OSError):
                    raise  # the connection: reconnect, the message stays where it is
                if unavailable(exc):
                    raise  # the database: retry later, the message stays where it is
                log.exception("inbound message uid %s could not be handled", uid)
                await self.move(client, uid, self.settings.failed_folder)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def handle_one(self, client: aioimaplib.IMAP4, uid: int) -> Outcome | None:
        """Handle (or recognise as handled) one message, then move it."""
        size = await self._size(client, uid)
        if size is None:
            return None  # gone meanwhile (another reader moved it)
        if size > self.settings.max_bytes:
            header = await self._fetch(client, uid, "BODY.PEEK[HEADER]")
            outcome = await pipeline.refuse_unread(
                self.ctx, header=header or b"", size=size, source="imap", uid=str(uid)
            )
        else:
            raw = await self._fetch(client, uid, "BODY.PEEK[]")
            if raw is None:
                return None
            raw = await self._with_nuls(client, uid, raw)
            outcome = await pipeline.handle_raw(self.ctx, raw, "imap")
        self.outcomes.append(outcome)
        failed = outcome.disposition is Disposition.FAILED
        await self.move(
            client, uid, self.settings.failed_folder if failed else self.settings.done_folder
        )
        return outcome

    async def move(self, client: aioimaplib.IMAP4, uid: int, folder: str) -> None:
        """Move one message by UID: MOVE when offered, else COPY, \\Deleted, EXPUNGE."""
        target = _mailbox(folder)
        if client.has_capability("MOVE"):
            _ok(await client.uid("move", str(uid), target), f"UID MOVE {uid}")
            return
        _ok(await client.uid("copy", str(uid), target), f"UID COPY {uid}")
        _ok(
            await client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Deleted)"),
            f"UID STORE {uid}",
        )
        if client.has_capability("UIDPLUS"):
            _ok(await client.uid("expunge", str(uid)), f"UID EXPUNGE {uid}")
        else:
            _ok(await client.expunge(), "EXPUNGE")

    async def _with_nuls(self, client: aioimaplib.IMAP4, uid: int, raw: bytes) -> bytes:
        """The message as stored when its header may have held a NUL.

        IMAP may not send a NUL in a literal, so Dovecot sends 0x80 in its place; a
        header with a lone 0x80 is fetched again as BINARY (RFC 3516, NULs kept), so
        the parser sees, and refuses, what the sender really wrote.
        """
        if b"\x80" not in _header_block(raw) or not client.has_capability("BINARY"):
            return raw
        binary = await self._fetch(client, uid, "BINARY.PEEK[]")
        if binary is not None and b"\x00" in _header_block(binary):
            return binary
        return raw

    # -- helpers ---------------------------------------------------------------------

    async def _size(self, client: aioimaplib.IMAP4, uid: int) -> int | None:
        response = await client.uid("fetch", str(uid), "(RFC822.SIZE)")
        _ok(response, f"UID FETCH {uid} RFC822.SIZE")
        for line in response.lines:
            found = _SIZE.search(bytes(line))
            if found:
                return int(found.group(1))
        return None

    async def _fetch(self, client: aioimaplib.IMAP4, uid: int, item: str) -> bytes | None:
        response = await client.uid("fetch", str(uid), f"({item})")
        _ok(response, f"UID FETCH {uid}")
        return next((bytes(line) for line in response.lines if isinstance(line, bytearray)), None)

    async def _ensure_folder(self, client: aioimaplib.IMAP4, folder: str) -> None:
        name = _mailbox(folder)
        listed = await client.list('""', name)
        _ok(listed, "LIST")
        if any(bytes(line).startswith(b"(") for line in listed.lines):
            return
        _ok(await client.create(name), f"CREATE {folder}")
        log_event(log, "imap-folder-created", folder=folder)

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        protocol = client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the IMAP server does not offer STARTTLS")
        command = Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await asyncio.wait_for(protocol.execute(command), self.timeout), "STARTTLS")
        context = self.ssl_context or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport, protocol, context, server_hostname=self.settings.host
        )
        protocol.transport = transport
        await asyncio.wait_for(protocol.capability(), self.timeout)

    async def _wait(self, client: aioimaplib.IMAP4) -> None:
        """Until new mail (IDLE), a poke, stop, or ``poll_seconds``."""
        seconds = self.settings.poll_seconds
        if not client.has_capability("IDLE"):
            await self._sleep(seconds)
            return
        idle = await client.idle_start(timeout=seconds)
        push = asyncio.ensure_future(client.wait_server_push(timeout=seconds + 5))
        poked = asyncio.ensure_future(self._poke.wait())
        try:
            await asyncio.wait({push, poked, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, poked):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await push
            self._poke.clear()
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(idle, self.timeout)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poke.wait(), timeout=seconds)
        self._poke.clear()

    async def _passed(self) -> None:
        async with self._progress:
            self.passes += 1
            self._progress.notify_all()

    async def _purge(self) -> None:
        """Forget old raw messages at start and then once a day (by the injected clock)."""
        now = self.ctx.clock.now()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        try:
            await pipeline.purge_raw(self.ctx)
        except Exception:
            log.exception("purging old raw messages")
            return
        self._purged_at = now

    async def _logout(self, client: aioimaplib.IMAP4) -> None:
        with contextlib.suppress(Exception):
            if client.get_state() in ("AUTH", "SELECTED", "NONAUTH"):
                await asyncio.wait_for(client.logout(), 5)
        with contextlib.suppress(Exception):
            if client.protocol.transport is not None:
                client.protocol.transport.close()


def _header_block(raw: bytes) -> bytes:
    ends = [found for sep in (b"\r\n\r\n", b"\n\n") if (found := raw.find(sep)) != -1]
    return raw[: min(ends)] if ends else raw


def _ok(response: aioimaplib.Response, what: str) -> None:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"{what}: {response.result} {detail}".strip())


def _mailbox(name: str) -> str:
    """A mailbox name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3)."""
    return '"' + _utf7(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)
