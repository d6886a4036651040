"""The realtime dashboard: what is happening in the shop now, read from live counters."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.live import FeedEntry, LiveCounters, Tally
from commerce.carts.store import active_carts
from commerce.identity.store import SessionStore
from commerce.inventory.schemas import LowStock
from commerce.inventory.service import low_stock

#: A cart counts as active while it changed this recently.
ACTIVE_CART_WINDOW = timedelta(minutes=30)


class Realtime(BaseModel):
    as_of: datetime
    #: Orders paid in the last 60 minutes, and since midnight UTC; revenue in dollars at each
    #: order's own rate.
    last_hour: Tally
    today: Tally
    #: Carts with items that changed in the last 30 minutes.
    active_carts: int
    #: Users with a session open.
    signed_in_users: int
    low_stock: LowStock
    #: The latest paid orders, newest first.
    latest_orders: list[FeedEntry]


async def realtime(
    session: AsyncSession,
    redis: Redis,
    sessions: SessionStore,
    low_stock_threshold: int,
    now: datetime,
) -> Realtime:
    counted = await LiveCounters(redis).now(now)
    return Realtime(
        as_of=now,
        last_hour=counted.last_hour,
        today=counted.today,
        active_carts=await active_carts(redis, ACTIVE_CART_WINDOW),
        signed_in_users=await sessions.signed_in(),
        low_stock=await low_stock(session, low_stock_threshold),
        latest_orders=counted.latest,
    )
