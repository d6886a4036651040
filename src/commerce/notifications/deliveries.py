"""The email queue: deliveries due are claimed for a while (so two mailers never send one
twice at once), then marked sent or failed; a failure waits longer each time, and after
the last attempt the delivery is given up (the caller dead-letters it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.notifications.models import EmailDelivery
from commerce.notifications.rendering import SECRET


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
    due = (
        select(EmailDelivery.id)
        .where(
            EmailDelivery.sent_at.is_(None),
            EmailDelivery.failed_at.is_(None),
            EmailDelivery.next_attempt_at <= now,
        )
        .order_by(EmailDelivery.next_attempt_at, EmailDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(EmailDelivery)
        .where(EmailDelivery.id.in_(due.scalar_subquery()))
        .values(attempts=EmailDelivery.attempts + 1, next_attempt_at=now + policy.lease)
        .returning(EmailDelivery)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed, key=lambda d: (d.created_at, d.id))


async def mark_sent(session: AsyncSession, delivery: EmailDelivery, now: datetime) -> None:
    values: dict[str, object] = {"sent_at": now, "last_error": None, **_secret_emptied(delivery)}
    await session.execute(
        update(EmailDelivery).where(EmailDelivery.id == delivery.id).values(**values)
    )


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
        values |= {"failed_at": now, **_secret_emptied(delivery)}
    else:
        values["next_attempt_at"] = now + policy.wait_after(delivery.attempts)
    await session.execute(
        update(EmailDelivery).where(EmailDelivery.id == delivery.id).values(**values)
    )
    return given_up


def _secret_emptied(delivery: EmailDelivery) -> dict[str, object]:
    """A delivery done with (sent or given up) keeps no secret it carried."""
    return {"text_body": "", "html_body": ""} if delivery.kind in SECRET else {}
