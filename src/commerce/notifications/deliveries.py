"""The email queue: deliveries due are claimed for a while (so two mailers never send one
twice at once), then marked sent or failed; a failure waits longer each time, and after
the last attempt the delivery is given up (the caller dead-letters it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.notifications.models import EmailDelivery
from commerce.notifications.rendering import SECRET
from commerce.notifications.repository import NotificationRepository

#: The bodies of a delivery done with, when they carried a secret (a reset link).
EMPTIED: dict[str, object] = {"text_body": "", "html_body": ""}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    #: The wait after the first failure; it doubles after each further one.
    first_wait: timedelta
    #: How long a claimed delivery is left to its sender before another may take it.
    lease: timedelta = timedelta(minutes=2)

    def wait_after(self, attempts: int) -> timedelta:
        doublings: int = 2 ** max(attempts - 1, 0)
        return self.first_wait * doublings


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, policy: RetryPolicy
) -> list[EmailDelivery]:
    """Deliveries due now, each counted as an attempt and leased to the caller."""
    return await NotificationRepository(session).claim_due(now, limit, now + policy.lease)


async def mark_sent(session: AsyncSession, sent: Sequence[EmailDelivery], now: datetime) -> None:
    """Record these deliveries as sent; those that carried a secret keep no body."""
    repo = NotificationRepository(session)
    done: dict[str, object] = {"sent_at": now, "last_error": None}
    kept = [delivery.id for delivery in sent if delivery.kind not in SECRET]
    secret = [delivery.id for delivery in sent if delivery.kind in SECRET]
    if kept:
        await repo.update_deliveries(kept, done)
    if secret:
        await repo.update_deliveries(secret, done | EMPTIED)


async def mark_failed(
    session: AsyncSession,
    delivery: EmailDelivery,
    error: BaseException,
    now: datetime,
    policy: RetryPolicy,
) -> bool:
    """Record a failed attempt; True when it was the last one (the delivery is given up)."""
    given_up = delivery.attempts >= policy.attempts
    values: dict[str, object] = {"last_error": repr(error)[:2000]}
    if given_up:
        values |= {"failed_at": now, **_secret_emptied(delivery.kind)}
    else:
        values["next_attempt_at"] = now + policy.wait_after(delivery.attempts)
    await NotificationRepository(session).update_deliveries([delivery.id], values)
    return given_up


def _secret_emptied(kind: str) -> dict[str, object]:
    """A delivery done with (sent or given up) keeps no secret it carried."""
    return EMPTIED if kind in SECRET else {}
