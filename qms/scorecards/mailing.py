"""E-mail with file attachments (scorecard PDFs), over the same SMTP settings or outbox as
qms.mail, with the same outcomes: SENT, REFUSED, DEFERRED, NOT_SENT, UNKNOWN."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from qms.mail import OutboxMailer, OutgoingMessage, SmtpMailer


@dataclass
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


@dataclass
class MessageWithAttachments(OutgoingMessage):
    attachments: list[Attachment] = field(default_factory=list)


class _Attaching:
    """Adds the message's attachments to the MIME message qms.mail builds."""

    def prepare(self, msg):
        mime = super().prepare(msg)
        for att in getattr(msg, "attachments", ()):
            maintype, _sep, subtype = att.mime.partition("/")
            mime.add_attachment(att.content, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=att.filename)
        return mime


class AttachingSmtpMailer(_Attaching, SmtpMailer):
    pass


class AttachingOutboxMailer(_Attaching, OutboxMailer):
    pass


def open_attachment_mailer(config=None):
    """Like qms.mail.open_mailer: SMTP when SMTP_HOST is set, else the outbox directory."""
    config = config if config is not None else current_app.config
    return AttachingSmtpMailer(config) if config.get("SMTP_HOST") else \
        AttachingOutboxMailer(config)
