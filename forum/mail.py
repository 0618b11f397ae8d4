"""Outgoing mail: SMTP when MAIL_SERVER is set, otherwise written to the server log for developers."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app
from flask.signals import Namespace

_signals = Namespace()
# Sent for every message, delivered or logged: the hook tests and extensions can listen to.
message_sent = _signals.signal("village-mail-sent")


def build_message(to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text message from the site's sender."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    set_text(message, text)
    return message


def set_text(message: EmailMessage, text: str) -> None:
    """Set the plain-text body as 7bit (ASCII) or 8bit, never quoted-printable: quoted-printable breaks long
    lines with "=" soft line breaks, which split a reset link in two for anyone reading the raw message (the
    development log, a plain mail client). Lines stay far below SMTP's 998-character limit."""
    if any(len(line) > 900 for line in text.splitlines()):
        message.set_content(text)
    else:
        message.set_content(text, cte="7bit" if text.isascii() else "8bit")


def send_mail(to: str, subject: str, text: str) -> EmailMessage:
    """Send a message now; without SMTP settings, log it so a developer can follow its links."""
    message = build_message(to, subject, text)
    deliver(message)
    return message


def deliver(message: EmailMessage) -> None:
    """Hand one finished message to the SMTP server (raises on failure), or log it without MAIL_SERVER."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
        with smtp_class(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    else:
        current_app.logger.warning("Mail not sent (no MAIL_SERVER set):\n%s", message.as_string())
    message_sent.send(current_app._get_current_object(), message=message)  # type: ignore[attr-defined]
