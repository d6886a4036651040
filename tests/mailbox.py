"""A real SMTP server (aiosmtpd) for the tests: it keeps what arrives, and refuses some
recipients the way mail servers do, so retries and dead letters can be seen.

Recipients whose address starts with `bounce` are refused every time (451, try later);
those starting with `flaky` are refused twice, then accepted.
"""

from __future__ import annotations

import threading
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

FLAKY_REFUSALS = 2
REFUSED = "451 4.3.0 Mailbox busy, try again later"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        local = address.partition("@")[0]
        with self._lock:
            if local.startswith("bounce") or (
                local.startswith("flaky") and self.refused[address] < FLAKY_REFUSALS
            ):
                self.refused[address] += 1
                return REFUSED
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


def serve(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
