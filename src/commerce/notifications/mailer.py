"""Sending email over SMTP (aiosmtplib): the adapter between the email queue and a mail
server (the shop's provider in production, a local catcher on the embedded stack)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import parseaddr
from typing import cast

import aiosmtplib

from commerce.notifications.models import EmailDelivery

#: What a failed send raises: the server refused, went away, or did not answer in time.
SEND_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    #: Connections a batch is sent over side by side: one waits on the server's answer to
    #: each command, and sent one after another a checkout's two emails fell seconds behind
    #: the orders under load (bench/checkout).
    connections: int = 4

    async def send_all(self, deliveries: Sequence[EmailDelivery]) -> list[Exception | None]:
        """Send each, a share of them over each connection; what each send raised, in order
        (None: sent). One connection a share, not one an email: a connect, a greeting and a
        login cost more than an email."""
        size = max(1, math.ceil(len(deliveries) / self.connections))
        shares = [deliveries[start : start + size] for start in range(0, len(deliveries), size)]
        outcomes = await asyncio.gather(*(self._send_over_one(share) for share in shares))
        return [outcome for share in outcomes for outcome in share]

    async def _send_over_one(self, deliveries: Sequence[EmailDelivery]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        try:
            async with client:
                for delivery in deliveries:
                    try:
                        await client.send_message(message(delivery, self.sender))
                    except SEND_ERRORS as refused:
                        outcomes.append(refused)
                    else:
                        outcomes.append(None)
        except SEND_ERRORS as unreachable:
            # Not connected, or the connection broke: what was not tried failed with it.
            outcomes += [unreachable] * (len(deliveries) - len(outcomes))
        return outcomes


def message(delivery: EmailDelivery, sender: str) -> Message:
    """The email as MIME, built with the `compat32` classes: `EmailMessage` parses every
    header it is given and cost five times as much (1.5 ms an email on the 2-core VM, the
    worker's largest cost per order once notices were batched)."""
    email = MIMEMultipart("alternative")
    email["From"] = sender
    email["To"] = delivery.recipient
    email["Subject"] = _header(delivery.subject)
    # Stable per delivery: a resend after a lost answer is recognisably the same email.
    domain = parseaddr(sender)[1].partition("@")[2] or "storefront.localhost"
    email["Message-ID"] = f"<delivery-{delivery.id}@{domain}>"
    email["X-Storefront-Kind"] = delivery.kind
    email.attach(MIMEText(delivery.text_body, "plain", "utf-8"))
    email.attach(MIMEText(delivery.html_body, "html", "utf-8"))
    return email


def _header(value: str) -> str:
    """ASCII as it is; anything else as a `Header`, which compat32 encodes (RFC 2047) and
    folds when it writes the message (typeshed types the value as str only)."""
    return value if value.isascii() else cast(str, Header(value, "utf-8"))
