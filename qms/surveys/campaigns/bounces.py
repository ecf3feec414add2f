"""Bounces reported after the SMTP server accepted an e-mail: delivery status notifications."""

from __future__ import annotations

import base64
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import getaddresses

from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.surveys.campaigns.rules import CampaignError
from qms.surveys.campaigns.sending import record_bounce

# RFC 3464 reports, and their RFC 6533 form for internationalised addresses.
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
# Where a report returns the original message: whole, or its headers only.
ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers",
                  "message/global-headers")
RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "action", "status")

ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# An SMTP reply with its enhanced status, as plain-text bounces quote it: "550 5.1.1 <a@b>: ..."
SMTP_REPLY = re.compile(r"\b[245]\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b[^\r\n]*")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
QUOTED_MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
MAX_MESSAGE_ID = 200  # Invitation.message_id
UTF8 = policy.default.clone(utf8=True)  # writes addresses as they are, not RFC 2047 words


@dataclass(frozen=True)
class Bounce:
    message_id: str | None  # of the original message, "<...>"; None when the report lacks it
    recipient: str | None
    status: str | None      # enhanced status code, "5.1.1"
    action: str | None      # "failed", "delayed", ... (lower case)
    diagnostic: str | None  # the remote server's words, "550 5.1.1 ... User unknown"

    @property
    def hard(self) -> bool:
        """A permanent failure: failed with a 5.x.x status (or with one of the two missing).

        Like a refusal at send time: 5xx bounces the invitation, 4xx (a delay, or a message
        given up after retrying a temporary failure) does not.
        """
        if self.action is None and self.status is None:
            return False
        if self.action is not None and self.action != "failed":
            return False  # delayed, delivered, relayed, expanded (RFC 3464, 2.3.3)
        return self.status is None or self.status.startswith("5")

    @property
    def reason(self) -> str:
        """What the invitation keeps: the remote server's words where the report has them."""
        if self.diagnostic:
            return self.diagnostic
        return f"{self.action or 'failed'} {self.status}" if self.status else "bounced"


def parse_dsn(raw: bytes) -> list[Bounce]:
    """Every recipient a bounce reports on, with the Message-ID of the original message.

    Reads RFC 3464 reports (multipart/report with a message/delivery-status part) and, from
    MTAs that send plain-text bounces, X-Failed-Recipients. Any other mail gives [] — an
    auto-reply or a customer's answer that quotes the invitation's Message-ID is no bounce.
    """
    msg = message_from_bytes(raw, policy=policy.default)
    parts = list(_parts(msg))
    reports = [p for p in parts if p.get_content_type() in STATUS_TYPES]
    failed = _addresses(msg.get_all("X-Failed-Recipients") or [])
    if not reports and not failed:
        return []
    per_message: dict[str, str] = {}
    recipients: list[dict[str, str]] = []
    for report in reports:
        for block in _field_blocks(report):
            if any(name in block for name in RECIPIENT_FIELDS):
                recipients.append(block)
            else:
                per_message = {**block, **per_message}
    message_id = _original_message_id(msg, parts, per_message)
    if recipients:
        return [_bounce(block, message_id) for block in recipients]
    # A plain-text bounce: the addresses from the header, the reason from the text.
    text = _text(parts)
    reply = SMTP_REPLY.search(text)
    status, diagnostic = (reply.group(1), " ".join(reply.group(0).split())) if reply else (
        None, None)
    return [Bounce(message_id, address, status, "failed", diagnostic) for address in failed]


def record_dsn(raw: bytes, *, now: datetime | None = None) -> int:
    """Mark the invitations a report says were not delivered as bounced; how many were.

    Delays and temporary failures change nothing. The caller's unit of work commits.
    """
    now = now or now_utc()
    recorded: set[str] = set()
    for bounce in parse_dsn(raw):
        if not bounce.hard or bounce.message_id is None or bounce.message_id in recorded:
            continue
        if record_bounce(bounce.message_id, bounce.reason, now=now):
            recorded.add(bounce.message_id)
    return len(recorded)


def record_reported_bounce(data, *, now: datetime | None = None) -> int:
    """A bounce another system has already read: {"message_id": ..., "reason": ...}.

    Returns 1 if an invitation was sent with that Message-ID (it is now bounced), else 0.
    """
    if not isinstance(data, dict):
        raise CampaignError(_l("Send a JSON object with message_id and reason."))
    errors: dict[str, object] = {}
    raw_id = data.get("message_id")
    message_id = normalise_message_id(raw_id) if isinstance(raw_id, str) else None
    if message_id is None:
        errors["message_id"] = _l("Give the Message-ID of the e-mail that bounced.")
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        errors["reason"] = _l("Give the reason as text.")
    if errors:
        raise CampaignError(errors)
    return int(record_bounce(message_id, (reason or "").strip() or "bounced",
                             now=now or now_utc()))


def normalise_message_id(value: str | None) -> str | None:
    """The form Invitation.message_id stores, "<id@host>", from a header value or a bare id."""
    if not value:
        return None
    found = MESSAGE_ID.search(value)
    if found:
        value = found.group(0)
    else:
        value = value.strip()
        if not value or any(c.isspace() or c in "<>" for c in value):
            return None
        value = f"<{value}>"
    return value if len(value) <= MAX_MESSAGE_ID else None


# -- reading a report ------------------------------------------------------------------------

def _parts(msg: EmailMessage) -> Iterator[EmailMessage]:
    """The message and its MIME parts, without descending into a returned original."""
    yield msg
    if msg.get_content_maintype() == "multipart":
        for part in msg.iter_parts():
            yield from _parts(part)


def _field_blocks(part: EmailMessage) -> list[dict[str, str]]:
    """The blocks of a delivery-status part (per message, then per recipient), as fields.

    The email package splits a 7bit message/delivery-status part into blocks itself. Other
    forms come apart differently: message/global-delivery-status as one message whose headers
    are the first block, an encoded part (seen in the wild, though RFC 3464 asks for 7bit) as
    one block of encoded text. Those are written out again, decoded and parsed as blocks.
    """
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if part.get_content_type() == "message/delivery-status" and isinstance(payload, list) \
            and encoding not in ("base64", "quoted-printable"):
        return [_fields(block.items()) for block in payload]
    if isinstance(payload, list):
        body = part.as_bytes(policy=UTF8).partition(b"\n\n")[2]
        if encoding == "base64":
            body = base64.b64decode(body)
        elif encoding == "quoted-printable":
            body = quopri.decodestring(body)
    else:
        body = part.get_payload(decode=True) or b""
    again = message_from_string("Content-Type: message/delivery-status\n\n"
                                + body.decode("utf-8", "replace"), policy=policy.default)
    blocks = again.get_payload()
    return [_fields(block.items()) for block in blocks] if isinstance(blocks, list) else []


def _fields(items: Iterable[tuple[str, object]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in items:
        fields.setdefault(name.lower(), " ".join(str(value).split()))
    return fields


def _addresses(values: list) -> list[str]:
    return [address for _name, address in getaddresses([str(v) for v in values]) if address]


def _bounce(block: dict[str, str], message_id: str | None) -> Bounce:
    recipient = block.get("final-recipient") or block.get("original-recipient")
    if recipient:
        # "rfc822; a@example.cn": the address type, then the address
        recipient = recipient.rpartition(";")[2].strip().strip("<>") or None
    action = (block.get("action") or "").split("(")[0].strip().lower() or None
    diagnostic = block.get("diagnostic-code") or None
    if diagnostic and re.match(r"^[\w.-]+\s*;", diagnostic):
        diagnostic = diagnostic.split(";", 1)[1].strip() or None  # "smtp; 550 ..."
    found = ENHANCED_STATUS.search(block.get("status", "")) or (
        ENHANCED_STATUS.search(diagnostic) if diagnostic else None)
    return Bounce(message_id, recipient, found.group(0) if found else None, action, diagnostic)


def _original_message_id(msg: EmailMessage, parts: list[EmailMessage],
                         per_message: dict[str, str]) -> str | None:
    """The returned original's Message-ID; failing that, what else in the report names it."""
    for part in parts:
        kind = part.get_content_type()
        if kind not in ORIGINAL_TYPES:
            continue
        if kind.startswith("message/") and isinstance(part.get_payload(), list):
            headers = part.get_payload()[0]
        else:
            body = part.get_payload(decode=True) or b""
            headers = HeaderParser(policy=policy.default).parsestr(
                body.decode("utf-8", "replace"))
        found = normalise_message_id(str(headers.get("Message-ID", "")))
        if found:
            return found
    # Plain-text bounces quote the original below their explanation.
    quoted = QUOTED_MESSAGE_ID.search(_text(parts))
    if quoted:
        return normalise_message_id(quoted.group(1))
    # Some MTAs (Exchange among them) also answer the original as a reply would.
    for value in (per_message.get("original-message-id"), msg.get("In-Reply-To")):
        found = normalise_message_id(str(value)) if value else None
        if found:
            return found
    return None


def _text(parts: list[EmailMessage]) -> str:
    """The report's own plain text, for bounces that carry their facts only there."""
    texts = []
    for part in parts:
        if part.get_content_type() == "text/plain" and not part.is_attachment():
            try:
                texts.append(part.get_content())
            except (LookupError, UnicodeError):
                texts.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
    return "\n".join(texts)
