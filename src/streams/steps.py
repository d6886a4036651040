"""The saga's consumers (steps, one event in one unit of work) and its periodic job."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.orders import saga
from commerce.orders import service as orders
from commerce.payments.provider import PaymentProvider
from streams.consumers import Consumer

log = logging.getLogger(__name__)

ORDERS, PAYMENTS = "orders", "payments"
#: Orders expired per transaction; the job loops until none are due.
EXPIRY_BATCH = 200


def order_saga() -> Consumer:
    """payment.succeeded → CONFIRMED and stock sold; payment.failed → FAILED and released."""
    return Consumer(ORDERS, step=saga.order_steps)


def payment_saga(provider: PaymentProvider) -> Consumer:
    """order.created → charged; order.cancelled (paid) and order.returned → refunded."""
    return Consumer(PAYMENTS, step=saga.payment_steps(provider))


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
