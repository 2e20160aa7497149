"""One inbound message, from raw bytes to a recorded outcome: the path both the IMAP
reader and ``aarshjul mail ingest`` take.

1. Parse within the safety limits; a refused message is recorded as FAILED with its
   reason (and moved to the failed folder by the reader).
2. Dedupe: a message whose Message-ID or bytes were seen before is not handled again;
   its outcome says "already handled" with the disposition of the first time, so the
   reader moves it where the first reading would have.
3. Ask the handlers in turn (bounces and auto-replies, calendar answers, hearing
   replies); the first :class:`Outcome` wins; none: IGNORED, "not for us".

The handler's writes, its outbox rows and the message's own row commit in ONE
transaction: after a crash either all of it is there (and the message is only moved),
or none of it (and the message is handled from scratch).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import t
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.inbound import bounces, calendar_reply, hearing_reply
from bot.services.inbound.message import Disposition, Outcome, ParsedMail
from bot.services.inbound.parse import MalformedMail, parse_message
from storage import inbound as store
from storage.db import unavailable
from storage.inbound import InboundMessage

log = logging.getLogger("aarshjul.inbound")

SOURCES = ("imap", "file")


def handlers() -> tuple[Any, ...]:
    """The handlers in the order they are asked (looked up at call time)."""
    return (
        bounces.handle_bounce_or_auto_reply,
        calendar_reply.handle_calendar_reply,
        hearing_reply.handle_hearing_reply,
    )


def summary_text(outcome: Outcome, language: str) -> str:
    """The outcome as the one line a person reads."""
    return t(language, outcome.summary_key, **outcome.params)


def line_text(outcome: Outcome, language: str) -> str:
    """The one line ``mail ingest`` prints: the disposition, then the summary."""
    summary = summary_text(outcome, language)
    return t(language, f"inbound.line.{outcome.disposition.value}", summary=summary)


async def handle_raw(ctx: AppContext, raw: bytes, source: str) -> Outcome:
    """Handle one message exactly once; the outcome says what became of it.

    Raises only when the database is unavailable (the caller retries later and the
    message stays where it is); a handler's bug is logged and comes back as FAILED
    without being recorded, so the message can be read again once the bug is fixed.
    """
    inbound = ctx.config.settings.inbound
    try:
        # Off the event loop: up to 25 MB of hostile MIME (100,000 parts, a header of
        # millions of bytes) takes the stdlib parser seconds, which must not hold up
        # Slack's 3-second acks or the outbox worker sharing the loop.
        mail = await asyncio.to_thread(parse_message, raw, max_bytes=inbound.max_bytes)
    except MalformedMail as error:
        return await _record_refused(ctx, raw, source, error)
    try:
        outcome = await _handle_once(ctx, mail, source)
    except Exception as exc:
        if unavailable(exc):
            raise
        # Another reader may have recorded the same message between our look and our
        # commit (the unique Message-ID or hash): then it is a duplicate, not a fault.
        seen = await _seen_outcome(ctx, mail.message_id, mail.sha256)
        if isinstance(exc, IntegrityError) and seen is not None:
            outcome = seen
        else:
            log.exception("inbound message %s: a handler failed", mail.message_id)
            outcome = Outcome(
                Disposition.FAILED, "error", "inbound.outcome.error", {"error": type(exc).__name__}
            )
    _log(ctx, outcome, source, mail.message_id, mail.from_address)
    return outcome


async def refuse_unread(
    ctx: AppContext, *, header: bytes, size: int, source: str, uid: str = ""
) -> Outcome:
    """Record a message too big to download (the IMAP reader saw its RFC822.SIZE):
    only its header was read, for the Message-ID; it is moved to the failed folder."""
    error = MalformedMail(
        t("en", "inbound.malformed.too_big", size=_mb(size), limit=_mb(_limit(ctx))),
        key="inbound.malformed.too_big",
        size=_mb(size),
        limit=_mb(_limit(ctx)),
    )
    message_id = _header_message_id(header) or f"<unread-{uid}-{size}@aarshjul.invalid>"
    outcome = _refused_outcome(error)
    async with ctx.db.transaction() as session:
        seen = await store.find_seen(session, message_id=message_id, sha256=None)
        if seen is not None:
            outcome = _duplicate(ctx, seen)
        else:
            session.add(
                _row(ctx, outcome, message_id=message_id, sha256=None, source=source, size=size)
            )
    _log(ctx, outcome, source, message_id, "")
    return outcome


async def purge_raw(ctx: AppContext) -> int:
    """Forget raw messages older than ``[inbound] keep_raw_days``; how many."""
    before = ctx.clock.now() - timedelta(days=ctx.config.settings.inbound.keep_raw_days)
    async with ctx.db.transaction() as session:
        purged = await store.purge_raw(session, before=before)
    if purged:
        log_event(log, "inbound-raw-purged", messages=purged, before=before)
    return purged


async def _handle_once(ctx: AppContext, mail: ParsedMail, source: str) -> Outcome:
    async with ctx.db.transaction() as session:
        seen = await store.find_seen(session, message_id=mail.message_id, sha256=mail.sha256)
        if seen is not None:
            return _duplicate(ctx, seen)
        placeholder = Outcome(Disposition.IGNORED, "not_for_us", "inbound.outcome.not_for_us")
        row = _row(
            ctx,
            placeholder,
            message_id=mail.message_id,
            sha256=mail.sha256,
            source=source,
            size=len(mail.raw),
            mail=mail,
        )
        session.add(row)
        # Claim the message first: a second reader of the same message waits here
        # (PostgreSQL's unique index) or already sees it (SQLite's single writer).
        await session.flush()
        outcome = await _ask_handlers(ctx, session, mail) or placeholder
        _fill(ctx, row, outcome)
        session.add(row)
    return outcome


async def _ask_handlers(ctx: AppContext, session: AsyncSession, mail: ParsedMail) -> Outcome | None:
    for handler in handlers():
        outcome = await handler(ctx, session, mail)
        if outcome is not None:
            return outcome
    return None


async def _record_refused(
    ctx: AppContext, raw: bytes, source: str, error: MalformedMail
) -> Outcome:
    sha256 = hashlib.sha256(raw).hexdigest()
    message_id = f"<{sha256}@aarshjul.invalid>"
    outcome = _refused_outcome(error)
    try:
        async with ctx.db.transaction() as session:
            seen = await store.find_seen(session, message_id=message_id, sha256=sha256)
            if seen is not None:
                outcome = _duplicate(ctx, seen)
            else:
                keep = raw if len(raw) <= _limit(ctx) else None
                row = _row(
                    ctx, outcome, message_id=message_id, sha256=sha256, source=source, size=len(raw)
                )
                row.raw = keep if ctx.config.settings.inbound.keep_raw_days else None
                session.add(row)
    except IntegrityError:
        outcome = await _seen_outcome(ctx, message_id, sha256) or outcome
    _log(ctx, outcome, source, message_id, "")
    return outcome


def _refused_outcome(error: MalformedMail) -> Outcome:
    return Outcome(
        Disposition.FAILED,
        "malformed",
        error.key or "inbound.malformed.not_a_message",
        dict(error.params),
    )


async def _seen_outcome(ctx: AppContext, message_id: str, sha256: str | None) -> Outcome | None:
    async with ctx.db.session() as session:
        seen = await store.find_seen(session, message_id=message_id, sha256=sha256)
    return _duplicate(ctx, seen) if seen is not None else None


def _duplicate(ctx: AppContext, seen: InboundMessage) -> Outcome:
    when = seen.received_at.astimezone(ctx.tz).strftime("%d.%m.%Y %H:%M")
    return Outcome(
        Disposition(seen.disposition),
        "duplicate",
        "inbound.outcome.duplicate",
        {"when": when, "summary": seen.summary, "id": seen.id},
    )


def _row(
    ctx: AppContext,
    outcome: Outcome,
    *,
    message_id: str,
    sha256: str | None,
    source: str,
    size: int,
    mail: ParsedMail | None = None,
) -> InboundMessage:
    keep = mail is not None and ctx.config.settings.inbound.keep_raw_days > 0
    row = InboundMessage(
        message_id=message_id[:998],
        sha256=sha256,
        received_at=ctx.clock.now(),
        source=source,
        from_address=(mail.from_address if mail else "")[:254],
        subject=(mail.subject if mail else "")[:300],
        size=size,
        disposition=outcome.disposition.value,
        kind=outcome.kind,
        summary_key=outcome.summary_key,
        raw=mail.raw if keep and mail is not None else None,
    )
    _fill(ctx, row, outcome)
    return row


def _fill(ctx: AppContext, row: InboundMessage, outcome: Outcome) -> None:
    row.disposition = outcome.disposition.value
    row.kind = outcome.kind[:40]
    row.summary_key = outcome.summary_key[:120]
    row.params = json.dumps(outcome.params, default=str, ensure_ascii=False, sort_keys=True)
    row.summary = summary_text(outcome, ctx.language)


def _log(ctx: AppContext, outcome: Outcome, source: str, message_id: str, sender: str) -> None:
    log_event(
        log,
        "inbound",
        source=source,
        message_id=message_id,
        sender=sender or "-",
        disposition=outcome.disposition.value,
        kind=outcome.kind,
        summary=summary_text(outcome, "en"),
    )


def _limit(ctx: AppContext) -> int:
    return ctx.config.settings.inbound.max_bytes


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _header_message_id(header: bytes) -> str | None:
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(header).get("message-id")
    except (ValueError, TypeError, LookupError):
        return None
    text = str(value or "").strip()
    if not text or any(ord(c) < 32 for c in text):
        return None
    return text[:998]
