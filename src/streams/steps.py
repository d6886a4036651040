"""The saga's consumers (steps, one event in one unit of work) and its periodic job."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.notifications.from_events import notification_step
from commerce.notifications.service import Shop
from commerce.orders import saga
from commerce.orders import service as orders
from commerce.payments.provider import PaymentProvider
from commerce.rewards.service import review_step
from streams.consumers import Consumer

log = logging.getLogger(__name__)

ORDERS, PAYMENTS = "orders", "payments"
NOTIFY, REWARDS = "notify", "rewards"
#: Orders expired per transaction; the job loops until none are due.
EXPIRY_BATCH = 200


def order_saga() -> Consumer:
    """payment.succeeded → CONFIRMED and stock sold; payment.failed → FAILED and released."""
    return Consumer(ORDERS, step=saga.order_steps)


def payment_saga(provider: PaymentProvider) -> Consumer:
    """order.created → charged; order.cancelled (paid) and order.returned → refunded."""
    return Consumer(PAYMENTS, step=saga.payment_steps(provider))


def notifications(shop: Shop) -> Consumer:
    """Events people hear of: queued as emails and in-app notifications, by preference."""
    return Consumer(NOTIFY, step=notification_step(shop))


def rewards() -> Consumer:
    """A customer's order paid, cancelled or returned: achievements and quests reviewed."""
    return Consumer(REWARDS, step=review_step)


def reservation_expiry(sessions: async_sessionmaker[AsyncSession]) -> Callable[[], Awaitable[None]]:
    """The periodic job: orders unpaid past their hold release their stock and EXPIRE."""

    async def expire() -> None:
        try:
            while True:
                async with transaction(sessions) as session:
                    expired = await orders.expire_due(
                        session, now=datetime.now(UTC), limit=EXPIRY_BATCH
                    )
                if expired:
                    log.info("reservations expired", extra={"orders": expired})
                if expired < EXPIRY_BATCH:
                    return
        except Exception:
            # PostgreSQL away for a moment: the next tick tries again; the worker carries on.
            log.exception("expiring reservations failed")

    return expire
