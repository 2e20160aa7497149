"""Reading a delivery status notification (RFC 3464) and finding our Message-IDs in it.

Pure: a :class:`ParsedMail` in, a :class:`DeliveryReport` out, no database.
A DSN names the message it is about in several places, depending on the server:
the quoted original headers (a ``text/rfc822-headers`` or ``message/rfc822``
part), an ``Original-Message-ID`` / ``X-Original-Message-ID`` field (in the
report's own headers or its status fields), or ``In-Reply-To``/``References``.
Each is only a candidate: the caller checks the hash in the Message-ID against
the outbox row it names (see :func:`bot.delivery.email.message_id`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser

from bot.services.inbound.message import MailPart, ParsedMail

STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
HEADER_TYPES = frozenset({"text/rfc822-headers", "message/rfc822", "message/global-headers"})
#: ``<aarshjul.ROW.HASH@domain>``, as :func:`bot.delivery.email.message_id` writes it.
OUR_ID = re.compile(r"<aarshjul\.(\d{1,18})\.([0-9a-f]{16})@[^<>\s]+>", re.IGNORECASE)
#: Fields that name the original message, wherever a server puts them.
ID_FIELDS = ("original-message-id", "x-original-message-id", "message-id")
#: A status report this large is not one (real ones are a few hundred bytes).
MAX_STATUS = 64 * 1024
MAX_REASON = 500
#: RFC 3464 actions that say the message did not (yet) fail.
NOT_FAILED = frozenset({"delayed", "delivered", "relayed", "expanded"})


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of the report."""

    final_recipient: str
    action: str
    status: str
    diagnostic: str

    @property
    def failed(self) -> bool:
        if self.action:
            return self.action not in NOT_FAILED
        # No Action field: the status class decides (5.x.x permanent, 4.x.x transient).
        return not self.status.startswith(("2", "4"))

    def reason(self) -> str:
        """Status and the server's diagnostic, one line (e.g. ``5.1.1 550 … User unknown``)."""
        words = " ".join(w for w in (self.status, self.diagnostic) if w)
        return words[:MAX_REASON] or "-"


@dataclass(frozen=True)
class DeliveryReport:
    #: (row id, hash) of every Message-ID of ours the report names, first found first.
    our_ids: tuple[tuple[int, str], ...]
    recipients: tuple[RecipientStatus, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        """Whether the report says a delivery failed (a report with no recipient
        blocks at all is taken as a failure: that is what a bare bounce means)."""
        return not self.recipients or any(r.failed for r in self.recipients)

    def reason_for(self, address: str) -> str:
        """The reason given for ``address``, else for the first failed recipient."""
        failed = [r for r in self.recipients if r.failed] or list(self.recipients)
        for r in failed:
            if r.final_recipient == address.lower():
                return r.reason()
        return failed[0].reason() if failed else "-"

    def action(self) -> str:
        return next((r.action for r in self.recipients if r.action), "")


def is_delivery_report(mail: ParsedMail) -> bool:
    return mail.report_type == "delivery-status" or any(
        p.content_type in STATUS_TYPES for p in mail.parts
    )


def digest_of(key: str) -> str:
    """The hash part of our Message-ID for an outbox row with this idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def read_report(mail: ParsedMail) -> DeliveryReport:
    """Every candidate Message-ID of ours, and the per-recipient statuses."""
    candidates: list[str] = []
    recipients: list[RecipientStatus] = []
    # The original message's own headers come first: they are the most reliable.
    for part in mail.parts:
        if part.content_type in HEADER_TYPES:
            candidates += _quoted_ids(part)
    for part in mail.parts:
        if part.content_type in STATUS_TYPES:
            blocks = _blocks(part.content[:MAX_STATUS].decode("utf-8", "replace"))
            for block in blocks:
                candidates += [block[name] for name in ID_FIELDS[:2] if name in block]
            recipients += [_recipient(b) for b in blocks[1:] if _is_recipient(b)]
            # Some servers write no per-message block: the first one is a recipient's.
            if blocks and _is_recipient(blocks[0]) and "reporting-mta" not in blocks[0]:
                recipients.insert(0, _recipient(blocks[0]))
    candidates += [mail.header(name) or "" for name in ID_FIELDS[:2]]
    candidates += list(mail.in_reply_to) + list(mail.references)
    found: dict[tuple[int, str], None] = {}
    for text in candidates:
        for row, digest in OUR_ID.findall(text):
            found.setdefault((int(row), digest.lower()), None)
    return DeliveryReport(our_ids=tuple(found), recipients=tuple(recipients))


def _quoted_ids(part: MailPart) -> list[str]:
    head = part.content[:MAX_STATUS]
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    except (ValueError, TypeError, IndexError):  # compat32 hardly ever raises; be sure
        return []
    return [str(v) for name in ID_FIELDS for v in headers.get_all(name, [])]


def _blocks(text: str) -> list[dict[str, str]]:
    """The report's field groups (separated by blank lines), names lower case,
    folded lines joined."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _is_recipient(block: dict[str, str]) -> bool:
    return any(k in block for k in ("final-recipient", "original-recipient", "action", "status"))


def _recipient(block: dict[str, str]) -> RecipientStatus:
    recipient = block.get("final-recipient") or block.get("original-recipient") or ""
    diagnostic = block.get("diagnostic-code", "")
    return RecipientStatus(
        final_recipient=_after_type(recipient).strip("<>").lower()[:254],
        action=block.get("action", "").strip().lower()[:20],
        status=block.get("status", "").strip().split(" ")[0][:20],
        diagnostic=_clean(_after_type(diagnostic)),
    )


def _after_type(value: str) -> str:
    """``rfc822; a@b`` ⟶ ``a@b``; ``smtp; 550 …`` ⟶ ``550 …`` (the address/diagnostic type)."""
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else value.strip()


def _clean(text: str) -> str:
    text = " ".join(text.split())
    return "".join(ch for ch in text if ch.isprintable())[:MAX_REASON]
