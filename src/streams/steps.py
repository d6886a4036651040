"""The step consumers: the checkout saga's (payments: one event in one unit of work, an
order's lanes side by side; orders: a batch in one unit of work, its confirmations taken
together), notifications and rewards (a batch in one unit of work); and the saga's
periodic job."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import Envelope
from commerce.notifications.from_events import notification_steps
from commerce.notifications.service import Shop
from commerce.orders import service as orders
from commerce.rewards.service import review_steps
from commerce.unit_of_work import UnitOfWork
from streams.consumers import (
    BACKGROUND_BATCH_SECONDS,
    PROMPT_BATCH_SECONDS,
    Consumer,
)

log = logging.getLogger(__name__)

ORDERS, PAYMENTS = "orders", "payments"
#: The checkout saga's consumers: charge, then confirm (a worker of their own under `up`).
SAGA_CONSUMERS = (PAYMENTS, ORDERS)
NOTIFY, REWARDS = "notify", "rewards"
#: Orders expired per transaction; the job loops until none are due.
EXPIRY_BATCH = 200


#: A saga step: the event (a run of them, for a step taken together), its unit of work, and
#: the adapters it names (the provider).
SagaStep = Callable[..., Awaitable[None]]


def saga(
    name: str,
    steps: Mapping[str, SagaStep],
    *,
    together: frozenset[str] = frozenset(),
    **adapters: Any,
) -> Consumer:
    """The consumer running the handler table's steps for `name`, each given the adapters its
    signature names (as cosmicpython's bootstrap injects a handler's dependencies).

    Without steps `together`, one event in one unit of work, different orders side by side.
    With some, a batch in one unit of work: a step of those types takes each run of
    consecutive events of its type at once, the others one after another, in seq order.
    """
    bound = {event_type: _inject(step, adapters) for event_type, step in steps.items()}
    if not together:

        async def step(event: Envelope, uow: UnitOfWork) -> None:
            await bound[event.type](event, uow)

        return Consumer(name, step=step, batch_seconds=PROMPT_BATCH_SECONDS)

    async def runs(events: Sequence[Envelope], uow: UnitOfWork) -> None:
        for event_type, run in groupby(events, key=lambda event: event.type):
            if event_type in together:
                await bound[event_type](list(run), uow)
            else:
                for event in run:
                    await bound[event_type](event, uow)

    return Consumer(name, steps=runs, batch_seconds=PROMPT_BATCH_SECONDS)


def _inject(step: SagaStep, adapters: Mapping[str, Any]) -> SagaStep:
    wanted = inspect.signature(step).parameters
    named = {name: adapter for name, adapter in adapters.items() if name in wanted}

    async def run(taken: Envelope | Sequence[Envelope], uow: UnitOfWork) -> None:
        await step(taken, uow, **named)

    return run


def notifications(shop: Shop) -> Consumer:
    """Events people hear of: queued as emails and in-app notifications, by preference."""
    return Consumer(NOTIFY, steps=notification_steps(shop), batch_seconds=BACKGROUND_BATCH_SECONDS)


def rewards() -> Consumer:
    """A customer's order paid, cancelled or returned: achievements and quests reviewed."""
    return Consumer(REWARDS, steps=review_steps, batch_seconds=BACKGROUND_BATCH_SECONDS)


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
