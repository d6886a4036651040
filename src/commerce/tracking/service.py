"""Client events go through the outbox like every other event: all of a batch, or none."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.events import ActivityTracked
from commerce.outbox import add_event
from commerce.rate_limits import RateLimiter, Tier
from commerce.tracking.errors import TooManyEvents
from commerce.tracking.schemas import EventBatchIn


def record(session: AsyncSession, batch: EventBatchIn, customer_id: uuid.UUID | None) -> int:
    """Stage the batch's events in the caller's transaction; returns how many."""
    for event in batch.events:
        fields = event.model_dump(exclude={"type"})
        payload = ActivityTracked(session_id=batch.session_id, customer_id=customer_id, **fields)
        # Keyed by session: one session's events stay in the order they were sent.
        add_event(session, f"activity.{event.type}", batch.session_id, 1, payload)
    return len(batch.events)


async def admit(redis: Redis, address: str, *, per_minute: int) -> None:
    """Count a batch from this address; refuse (429) past `per_minute` in the minute."""
    tier = Tier(f"events-rate:{address}", per_minute)
    if retry_after := await RateLimiter(redis).take([tier], 60):
        raise TooManyEvents(retry_after=retry_after)
