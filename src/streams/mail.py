"""The worker's mail job: sends the emails due, retries failures with backoff, and
dead-letters (to notifications.dlq, alerting staff) those it gives up on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.notifications import deliveries
from commerce.notifications.deliveries import RetryPolicy
from commerce.notifications.models import EmailDelivery
from streams.dead_letters import dead_letter

log = logging.getLogger(__name__)
MAILER = "mailer"
NOTIFICATIONS_TOPIC = "notifications"
#: Emails claimed per transaction; the job loops until fewer are due.
BATCH = 200


class Mailer(Protocol):
    async def send_all(self, deliveries: Sequence[EmailDelivery]) -> list[Exception | None]: ...


def email_sender(
    sessions: async_sessionmaker[AsyncSession], mailer: Mailer, policy: RetryPolicy
) -> Callable[[], Awaitable[None]]:
    async def send_due() -> None:
        try:
            while await _send_batch(sessions, mailer, policy) == BATCH:
                pass
        except Exception:
            # PostgreSQL away for a moment: the next tick tries again; the worker carries on.
            log.exception("sending emails failed")

    return send_due


async def _send_batch(
    sessions: async_sessionmaker[AsyncSession], mailer: Mailer, policy: RetryPolicy
) -> int:
    async with transaction(sessions) as session:
        due = await deliveries.claim_due(session, datetime.now(UTC), BATCH, policy)
    if not due:
        return 0
    outcomes = await mailer.send_all(due)
    sent = [delivery for delivery, error in zip(due, outcomes, strict=True) if error is None]
    if sent:
        async with transaction(sessions) as session:
            await deliveries.mark_sent(session, sent, datetime.now(UTC))
    for delivery, error in zip(due, outcomes, strict=True):
        if error is not None:
            await _failed(sessions, delivery, error, policy)
    return len(due)


async def _failed(
    sessions: async_sessionmaker[AsyncSession],
    delivery: EmailDelivery,
    error: BaseException,
    policy: RetryPolicy,
) -> None:
    log.warning(
        "email not sent",
        extra={"delivery": delivery.id, "attempt": delivery.attempts, "error": repr(error)},
    )
    async with transaction(sessions) as session:
        if await deliveries.mark_failed(session, delivery, error, datetime.now(UTC), policy):
            described = {
                "delivery_id": delivery.id,
                "kind": delivery.kind,
                "recipient": delivery.recipient,
                "subject": delivery.subject,
                "attempts": delivery.attempts,
            }
            await dead_letter(
                session,
                consumer=MAILER,
                topic=NOTIFICATIONS_TOPIC,
                event=orjson.dumps(described).decode(),
                error=error,
                seq=None,
            )
