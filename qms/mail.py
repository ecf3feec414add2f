"""Outbound e-mail: MIME messages with text and HTML parts, sent over one SMTP connection.

Callers send only after their database commit. Each message gets an outcome that says what
may be done with it next: SENT and REFUSED are final, DEFERRED was not accepted, NOT_SENT was
never handed to the server (safe to try again), UNKNOWN broke off while being handed over and
may have arrived (never try again: at most once beats at least once for survey e-mail).
Without SMTP_HOST the messages are written to OUTBOX_DIR as .eml files.
"""

from __future__ import annotations

import enum
import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger("qms.mail")


class Outcome(enum.StrEnum):
    SENT = "sent"
    REFUSED = "refused"      # permanent (5xx): the recipient or the message was refused
    DEFERRED = "deferred"    # temporary (4xx): not accepted this time
    NOT_SENT = "not_sent"    # never handed over (no connection): safe to try again
    UNKNOWN = "unknown"      # the connection broke during the hand-over: may have arrived


@dataclass
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    key: object = None  # the caller's reference, handed back in the result


@dataclass
class SendResult:
    key: object
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def build_mime(msg: OutgoingMessage, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = msg.to
    mime["Subject"] = msg.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = msg.message_id or new_message_id(sender)
    for name, value in msg.headers.items():
        mime[name] = value
    mime.set_content(msg.text, charset="utf-8")
    if msg.html:
        mime.add_alternative(msg.html, subtype="html", charset="utf-8")
    return mime


def _smtp_error(exc: Exception) -> tuple[int | None, str]:
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = next(iter(exc.recipients.values()))
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return code, f"{code} {text}".strip() if code else str(exc)


class Mailer:
    """One connection's worth of sending; `with open_mailer() as m: m.send(msg)`."""

    def __init__(self, config):
        self.config = config
        self.sender = config.get("MAIL_FROM") or "qms@localhost"
        self.broken: str | None = None  # why the connection is unusable, once it is

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        pass

    def prepare(self, msg: OutgoingMessage) -> EmailMessage:
        if not msg.message_id:
            msg.message_id = new_message_id(self.sender)
        return build_mime(msg, self.sender)

    def send(self, msg: OutgoingMessage) -> SendResult:
        raise NotImplementedError


class SmtpMailer(Mailer):
    """Connects on the first message and keeps the connection for the rest of the batch."""

    smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25),
                            timeout=float(cfg.get("SMTP_TIMEOUT") or 30))
        try:
            smtp.ehlo()
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: OutgoingMessage) -> SendResult:
        mime = self.prepare(msg)
        result = SendResult(msg.key, Outcome.NOT_SENT, msg.message_id)
        if self.broken:
            result.error = self.broken
            return result
        if self.smtp is None:
            try:
                self.smtp = self._connect()
            except (OSError, smtplib.SMTPException) as exc:
                self.broken = result.error = f"cannot connect: {exc}"
                log.warning("SMTP %s", self.broken)
                return result
        try:
            refused = self.smtp.send_message(mime, from_addr=self.sender, to_addrs=[msg.to])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            # The server answered: the connection is still good for the next message.
            code, result.error = _smtp_error(exc)
            result.outcome = Outcome.DEFERRED if code and 400 <= code < 500 else Outcome.REFUSED
            return result
        except (OSError, smtplib.SMTPException) as exc:
            # Broke off mid-conversation: the server may or may not have taken the message.
            self.broken = result.error = f"connection lost: {exc!r}"
            result.outcome = Outcome.UNKNOWN
            self._drop()
            return result
        if refused:
            code, text = refused.get(msg.to, (550, b""))
            result.outcome = Outcome.REFUSED
            result.error = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
            return result
        result.outcome = Outcome.SENT
        return result

    def _drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            finally:
                self.smtp = None

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        self._drop()


class OutboxMailer(Mailer):
    """Writes each message to OUTBOX_DIR as <time>-<id>.eml (no SMTP server configured)."""

    def send(self, msg: OutgoingMessage) -> SendResult:
        mime = self.prepare(msg)
        outbox = Path(self.config["OUTBOX_DIR"])
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            tmp = outbox / f".{name}.tmp"
            tmp.write_bytes(mime.as_bytes())
            os.replace(tmp, outbox / f"{name}.eml")  # appears whole or not at all
        except OSError as exc:
            return SendResult(msg.key, Outcome.NOT_SENT, msg.message_id, f"outbox: {exc}")
        return SendResult(msg.key, Outcome.SENT, msg.message_id)


def open_mailer(config=None) -> Mailer:
    config = config if config is not None else current_app.config
    return SmtpMailer(config) if config.get("SMTP_HOST") else OutboxMailer(config)


def send_batch(messages: list[OutgoingMessage], config=None) -> list[SendResult]:
    """Send over one connection; after a broken connection the rest come back NOT_SENT."""
    with open_mailer(config) as mailer:
        return [mailer.send(m) for m in messages]
