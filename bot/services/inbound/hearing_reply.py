"""A member's answer to a hearing by e-mail (issue 13, point 3).

A reply is ours when one of its addresses (To, Cc, Delivered-To) carries a reply token
(:mod:`.reply_tokens`), or, when an MTA stripped it, when In-Reply-To / References name
a hearing e-mail we sent. It is recorded only when its ``From`` is the address of the
person the token (or that e-mail) was for, or of their substitute today — the same
people the Slack form lets answer — and through the same service
(:func:`bot.services.hearing_answers.record_answer`: the hearing's lock, the re-check
of its state, versions, the late flag, the audit).

Nothing goes to an address that did not pass those checks: a reply from another
address, or with a wrong token, is not recorded and the council's secretariat is told
(it may be a member writing from a private address). Every message this handler
queues is keyed on the inbound Message-ID, so a message handled twice sends once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.hearing_answers import AnswerInput, AnswerResult, record_answer
from bot.services.hearings import OPEN
from bot.services.inbound import reply_tokens
from bot.services.inbound.message import Disposition, Outcome, ParsedMail
from bot.services.inbound.reply_text import (
    MAX_FILE_BYTES,
    KeptFile,
    RefusedFile,
    new_text,
    position_of,
    sort_files,
)
from bot.services.reminders import load_audiences
from scheduler.errors import InputError, PermissionDenied
from scheduler.planner import notice
from storage import audit, hearing_mail, outbox
from storage.models import Absence, Council, Hearing, Person

log = logging.getLogger("aarshjul.inbound")
KIND = "hearing_reply"
_SUMMARY = "inbound_hearing.summary."
#: How much of an unaccepted reply the secretariat's note quotes.
_NOTE_TEXT = 2000


@dataclass(frozen=True)
class _Target:
    """The hearing a reply is about, and its council."""

    hearing: Hearing
    council: Council


async def handle_hearing_reply(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail
) -> Outcome | None:
    """The outcome when the message is a reply to one of our hearing e-mails; None to
    let the next handler look."""
    key = await hearing_mail.reply_key(session)
    base = ctx.config.settings.inbound.reply_address
    found, broken = reply_tokens.claims(reply_tokens.ours(mail.to_addresses, base))
    good = next((c for c in found if key and reply_tokens.valid(key, c)), None)
    if good is None and (found or broken):
        hearing_id = found[0].hearing_id if found else broken[0]
        bad_to = next((a for a in mail.to_addresses if f"+h{hearing_id}." in a), "")
        return await _wrong_token(ctx, session, mail, hearing_id, bad_to)
    if good is not None:
        ids: tuple[int, int] | None = (good.hearing_id, good.person_id)
    else:
        sent = await hearing_mail.sent_for(session, [*mail.in_reply_to, *mail.references])
        ids = (sent.hearing_id, sent.person_id) if sent else None
    if ids is None:
        return None
    hearing = await session.get(Hearing, ids[0])
    person = await session.get(Person, ids[1])
    council = await session.get(Council, hearing.council_id) if hearing else None
    if hearing is None or person is None or council is None:
        return Outcome(Disposition.IGNORED, KIND, _SUMMARY + "unknown_hearing", {"id": ids[0]})
    target = _Target(hearing, council)
    responder = await _responder(session, ctx, person, mail.from_address)
    if responder is None:
        return await _tell_secretariat(
            ctx,
            session,
            mail,
            target,
            "other_sender",
            name=person.name,
            member_address=person.email,
        )
    return await _record(ctx, session, mail, target, responder)


async def _responder(
    session: AsyncSession, ctx: AppContext, person: Person, address: str
) -> Person | None:
    """The person who may answer on ``person``'s e-mail from ``address``: they, or the
    substitute standing in for them today; None for anyone else."""
    if not address:
        return None
    if person.email.strip().lower() == address:
        return person
    today = ctx.today()
    return await session.scalar(
        select(Person)
        .join(Absence, col(Absence.substitute_id) == Person.id)
        .where(
            Absence.person_id == person.id,
            col(Absence.start) <= today,
            col(Absence.end) >= today,
            func.lower(Person.email) == address,
        )
    )


async def _record(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail, target: _Target, responder: Person
) -> Outcome:
    hearing, council = target.hearing, target.council
    lang = responder.language or ctx.language
    params: dict[str, object] = {"name": responder.name, "id": hearing.id, "title": hearing.title}
    if hearing.state != OPEN:
        await _to_member(ctx, session, mail, responder, target, "too_late")
        return Outcome(Disposition.HANDLED, KIND, _SUMMARY + "too_late", params)
    text = new_text(mail.text)
    position, remarks = position_of(text)
    kept, refused = sort_files(mail.parts)
    if not remarks and kept and position in ("support_with_remarks", "object"):
        remarks = t(
            lang, "inbound_hearing.file.see_files", names=", ".join(f.filename for f in kept)
        )
    try:
        result = await record_answer(
            session, ctx, hearing.id or 0, responder, AnswerInput(position, remarks)
        )
    except PermissionDenied:
        return await _tell_secretariat(ctx, session, mail, target, "not_heard", name=responder.name)
    except InputError as exc:
        if exc.key == "hearing.error.closed":
            await _to_member(ctx, session, mail, responder, target, "too_late")
            return Outcome(Disposition.HANDLED, KIND, _SUMMARY + "too_late", params)
        reason = t(lang, exc.key, **exc.params) if exc.key else str(exc)
        await _to_member(ctx, session, mail, responder, target, "refused", reason=reason)
        return Outcome(
            Disposition.IGNORED, KIND, _SUMMARY + "refused", {**params, "reason": str(exc)}
        )
    stored = await _keep_files(session, ctx, mail, result, kept)
    audit.record(
        session,
        at=ctx.clock.now(),
        actor=f"person:{responder.id}",
        action="hearing.answered_by_mail",
        entity="hearing",
        entity_id=hearing.id,
        seat=result.seat.id,
        version=result.answer.version,
        message_id=mail.message_id[:255],
        files=[f.filename for f in stored],
        refused=[f.filename for f in refused],
    )
    await _receipt(ctx, session, mail, responder, result, stored, refused)
    log_event(
        log,
        "hearing_reply",
        action="hearing.answered_by_mail",
        actor=f"person:{responder.id}",
        hearing=hearing.id,
        council=council.key,
        version=result.answer.version,
        changed=result.changed,
    )
    summary = {
        **params,
        "name": result.seat.name,
        "position": result.answer.position,
        "version": result.answer.version,
        "files": len(stored),
    }
    if not result.changed:
        return Outcome(Disposition.HANDLED, KIND, _SUMMARY + "unchanged", summary)
    late = "recorded_late" if result.answer.late else "recorded"
    return Outcome(Disposition.HANDLED, KIND, _SUMMARY + late, summary)


async def _keep_files(
    session: AsyncSession,
    ctx: AppContext,
    mail: ParsedMail,
    result: AnswerResult,
    kept: list[KeptFile],
) -> list[KeptFile]:
    """Store the files with the answer's version, unopened."""
    now = ctx.clock.now()
    for file in kept:
        await hearing_mail.add_file(
            session,
            hearing_mail.HearingAnswerFile(
                hearing_id=result.hearing.id or 0,
                person_id=result.seat.id or 0,
                version=result.answer.version,
                filename=file.filename[:255],
                content_type=file.content_type,
                size=len(file.content),
                sha256=file.sha256,
                content=file.content,
                message_id=mail.message_id[:255],
                created_at=now,
            ),
        )
    await session.flush()
    return kept


def _source(mail: ParsedMail) -> str:
    """The outbox source of what answering this inbound message sends: its Message-ID's
    hash, so the same message handled twice queues each message once."""
    return "inbound-hearing:" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:32]


def _fields(target: _Target, lang: str) -> dict[str, object]:
    return {
        "id": target.hearing.id,
        "title": target.hearing.title,
        "council": target.council.name,
        "date": format_date(target.hearing.deadline, lang, long=True),
    }


async def _enqueue_mail(
    ctx: AppContext,
    session: AsyncSession,
    mail: ParsedMail,
    person: Person,
    target: _Target,
    subject: str,
    text: str,
    lang: str,
) -> None:
    """One e-mail to ``person`` (who passed the checks), at their stored address."""
    planned = notice(
        _source(mail),
        channel="email",
        address=person.email,
        subject=subject,
        text=text,
        due_at=ctx.clock.now(),
        language=lang,
        council_id=target.council.id,
        person_id=person.id,
    )
    await outbox.enqueue(session, [planned], now=ctx.clock.now())


async def _to_member(
    ctx: AppContext,
    session: AsyncSession,
    mail: ParsedMail,
    person: Person,
    target: _Target,
    what: str,
    **extra: object,
) -> None:
    lang = person.language or ctx.language
    fields = _fields(target, lang)
    subject = t(lang, f"inbound_hearing.{what}.subject", **fields)
    text = t(lang, f"inbound_hearing.{what}.text", **fields, **extra)
    await _enqueue_mail(ctx, session, mail, person, target, subject, text, lang)


async def _receipt(
    ctx: AppContext,
    session: AsyncSession,
    mail: ParsedMail,
    responder: Person,
    result: AnswerResult,
    kept: list[KeptFile],
    refused: list[RefusedFile],
) -> None:
    """The member's receipt, quoting what was recorded."""
    lang = responder.language or ctx.language
    target = _Target(result.hearing, result.council)
    fields = _fields(target, lang)
    answer = result.answer
    position = t(lang, f"hearing.position.{answer.position}")
    parts = [
        t(lang, "inbound_hearing.receipt.text", **fields, version=answer.version, position=position)
    ]
    if not result.changed:
        parts.append(t(lang, "inbound_hearing.receipt.unchanged", version=answer.version))
    if answer.late:
        parts.append(t(lang, "inbound_hearing.receipt.late", **fields))
    if result.seat.id != responder.id:
        parts.append(t(lang, "inbound_hearing.receipt.substitute", name=result.seat.name))
    if answer.remarks:
        quoted = "\n".join(f"> {line}" for line in answer.remarks.splitlines())
        parts.append(t(lang, "inbound_hearing.receipt.quoted") + "\n" + quoted)
    if kept:
        names = ", ".join(f.filename for f in kept)
        parts.append(t(lang, "inbound_hearing.receipt.files", names=names))
    limit = MAX_FILE_BYTES // (1024 * 1024)
    parts += [
        t(lang, f"inbound_hearing.file.{f.why}", name=f.filename, limit=limit) for f in refused
    ]
    subject = t(lang, "inbound_hearing.receipt.subject", **fields)
    await _enqueue_mail(ctx, session, mail, responder, target, subject, "\n\n".join(parts), lang)


async def _wrong_token(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail, hearing_id: int, to: str
) -> Outcome:
    hearing = await session.get(Hearing, hearing_id) if 0 < hearing_id < 2**31 else None
    council = await session.get(Council, hearing.council_id) if hearing else None
    if hearing is None or council is None:
        return Outcome(Disposition.IGNORED, KIND, _SUMMARY + "unknown_hearing", {"id": hearing_id})
    return await _tell_secretariat(
        ctx, session, mail, _Target(hearing, council), "wrong_token", to=to
    )


async def _tell_secretariat(
    ctx: AppContext,
    session: AsyncSession,
    mail: ParsedMail,
    target: _Target,
    why: str,
    **extra: object,
) -> Outcome:
    """Not recorded: the council's secretariat hears who wrote from which address about
    which hearing. Nothing goes to the sender."""
    hearing, council = target.hearing, target.council
    audience = (await load_audiences(session, ctx, [council.id or 0])).get(council.id or 0)
    recipients = list(audience.secretariat) if audience else []
    sender = mail.from_name or mail.from_address or "?"
    params: dict[str, object] = {"id": hearing.id, "address": mail.from_address or "?", **extra}
    log_event(
        log,
        "refused",
        logging.WARNING,
        action="hearing.answered_by_mail",
        actor=f"mail:{mail.from_address or '?'}",
        hearing=hearing.id,
        council=council.key,
        why=why,
    )
    if not recipients:
        return Outcome(Disposition.IGNORED, KIND, _SUMMARY + "no_secretariat", params)
    now = ctx.clock.now()
    planned = []
    for r in recipients:
        lang = r.language if r.language in ("da", "en") else ctx.language
        fields = _fields(target, lang)
        body = [
            t(
                lang,
                f"inbound_hearing.notice.{why}",
                **fields,
                sender=sender,
                address=mail.from_address or "?",
                **{"name": "", "member_address": "", "to": "", **extra},
            ),
            t(lang, "inbound_hearing.notice.subject_line", subject=mail.subject[:200]),
        ]
        text = new_text(mail.text)[:_NOTE_TEXT]
        if text:
            body.append(t(lang, "inbound_hearing.notice.text_head") + "\n" + text)
        planned.append(
            notice(
                _source(mail),
                channel=r.channel,
                address=r.address,
                subject=t(lang, "inbound_hearing.notice.subject", **fields),
                text="\n\n".join(body),
                due_at=now,
                language=lang,
                council_id=council.id,
                person_id=r.person_id,
            )
        )
    await outbox.enqueue(session, planned, now=now)
    return Outcome(Disposition.HANDLED, KIND, _SUMMARY + why, params)
