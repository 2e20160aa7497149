"""A delivery status notification for one of our Message-IDs, or an auto-reply (point 4).

This handler runs first, before the calendar and hearing handlers:

- a DSN (``multipart/report; report-type=delivery-status``) is always claimed here.
  When it names one of our Message-IDs (``<aarshjul.ROW.HASH@domain>``, the hash
  checked against that row's key) and says the delivery failed, the row is failed
  with the server's Status and Diagnostic-Code, and the secretariat's daily failure
  report lists it; any other DSN is ignored with the reason.
- an auto-reply (RFC 3834 ``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
  ``X-Autorespond``, ``Precedence: auto_reply|bulk|junk``, Outlook's "Automatisk
  svar:" / "Automatic reply:" / "Out of Office" / "Fraværende" subjects) is recorded
  as seen and never answered, so no handler after this one can queue a receipt to it
  (no mail loops).

One exception: a message carrying an iTIP REPLY or COUNTER goes on to the calendar
handler even with auto-reply headers (a room or a delegate's calendar accepts
automatically); that handler never mails the sender, it only records the answer
or tells the secretariat.
"""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.inbound.dsn import digest_of, is_delivery_report, read_report
from bot.services.inbound.itip import is_itip_answer
from bot.services.inbound.message import Disposition, Outcome, ParsedMail
from storage import audit, outbox

BOUNCE, AUTO_REPLY = "bounce", "auto_reply"
_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
#: Outlook's and Exchange's subjects (Danish and English), and the common others.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatisk svar|automatic reply|auto(?:matic)?[ -]?reply|autosvar"
    # "Fraværende" also when sent as raw 8-bit UTF-8 (RFC 6532), which the lenient
    # parser may decode as two replacement characters.
    r"|out of (?:the )?office|frav\S{1,2}rende|abwesend|abwesenheitsnotiz)\b",
    re.IGNORECASE,
)


async def handle_bounce_or_auto_reply(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail
) -> Outcome | None:
    """The outcome when the message is one of these; None to let the next handler look."""
    if is_delivery_report(mail):
        return await _bounce(ctx, session, mail)
    why = auto_reply_reason(mail)
    if why is None or is_itip_answer(mail.parts):
        return None
    return Outcome(
        Disposition.IGNORED,
        AUTO_REPLY,
        "inbound_bounce.summary.auto_reply",
        {"sender": mail.from_address or "-", "why": why},
    )


def auto_reply_reason(mail: ParsedMail) -> str | None:
    """Which sign marks the message as automatic (a header, or the subject), or None.

    ``X-Auto-Response-Suppress`` alone is not one: it asks *us* not to auto-answer,
    and Exchange puts it on mail people write as well.
    """
    submitted = (mail.header("auto-submitted") or "").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted[:40]}"
    for name in ("x-autoreply", "x-autorespond"):
        if mail.header(name) is not None:
            return f"{name.title()}: {(mail.header(name) or '')[:40]}".rstrip(": ")
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in _PRECEDENCE:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.match(mail.subject):
        return f"Subject: {mail.subject[:60]}"
    return None


async def _bounce(ctx: AppContext, session: AsyncSession, mail: ParsedMail) -> Outcome:
    report = read_report(mail)
    for row_id, digest in report.our_ids:
        row = await outbox.get(session, row_id)
        if row is None or digest_of(row.key) != digest:
            continue  # the row number alone proves nothing: the hash is the row's key's
        params: dict[str, object] = {"id": row_id, "address": row.address}
        if not report.failed:
            return Outcome(
                Disposition.IGNORED,
                BOUNCE,
                "inbound_bounce.summary.not_failure",
                {**params, "action": report.action() or "-"},
            )
        reason = report.reason_for(row.address)
        now = ctx.clock.now()
        if not await outbox.fail_bounced(
            session, row_id, key=row.key, reason=f"bounce: {reason}", now=now
        ):
            await session.refresh(row)
            return Outcome(
                Disposition.IGNORED,
                BOUNCE,
                "inbound_bounce.summary.already",
                {**params, "state": row.state},
            )
        audit.record(
            session,
            at=now,
            actor="mail:bounce",
            action="outbox.bounced",
            entity="outbox",
            entity_id=row_id,
            reason=reason,
            message_id=mail.message_id[:200],
        )
        await session.flush()
        return Outcome(
            Disposition.HANDLED,
            BOUNCE,
            "inbound_bounce.summary.failed",
            {**params, "reason": reason},
        )
    return Outcome(
        Disposition.IGNORED,
        BOUNCE,
        "inbound_bounce.summary.not_ours",
        {"sender": mail.from_address or "-"},
    )
