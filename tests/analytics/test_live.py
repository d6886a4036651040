"""Live counters on real Redis: each paid order counts once, in its minute and its day."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redis.asyncio import Redis

from analytics.live import FEED_LENGTH, LiveCounters, PaidOrder

NOON = datetime(2026, 11, 26, 12, 0, 30, tzinfo=UTC)


def paid(at: datetime, total_usd: str = "10.00") -> PaidOrder:
    return PaidOrder(
        order_id=str(uuid.uuid4()),
        customer_id=str(uuid.uuid4()),
        currency="EUR",
        total=Decimal("9.20"),
        total_usd=Decimal(total_usd),
        units=2,
        paid_at=at,
    )


def counters(redis: Redis) -> LiveCounters:
    return LiveCounters(redis, prefix=f"test-live-{uuid.uuid4().hex}")


async def test_an_order_delivered_twice_counts_once(redis: Redis) -> None:
    live, order = counters(redis), paid(NOON, "12.34")

    first = await asyncio.gather(*(live.paid(order) for _ in range(5)))

    assert sorted(first) == [False, False, False, False, True]
    counted = await live.now(NOON)
    assert counted.last_hour.model_dump() == {"orders": 1, "revenue_usd": Decimal("12.34")}
    assert counted.today.orders == 1
    assert [entry.order_id for entry in counted.latest] == [order.order_id]


async def test_the_last_hour_is_sixty_minutes_and_today_is_the_utc_day(redis: Redis) -> None:
    live = counters(redis)
    for at in (NOON, NOON - timedelta(minutes=59), NOON - timedelta(minutes=60)):
        await live.paid(paid(at, "1.00"))
    await live.paid(paid(NOON - timedelta(hours=13), "5.00"))  # yesterday, 23:00 UTC

    counted = await live.now(NOON)
    assert counted.last_hour.model_dump() == {"orders": 2, "revenue_usd": Decimal(2)}
    assert counted.today.model_dump() == {"orders": 3, "revenue_usd": Decimal(3)}
    yesterday = (await live.now(NOON - timedelta(days=1))).today
    assert yesterday.model_dump() == {"orders": 1, "revenue_usd": Decimal(5)}


async def test_the_feed_keeps_the_latest_orders_newest_first(redis: Redis) -> None:
    live = counters(redis)
    orders = [paid(NOON + timedelta(seconds=i)) for i in range(FEED_LENGTH + 5)]
    for order in orders:
        await live.paid(order)

    feed = (await live.now(NOON, feed=FEED_LENGTH + 10)).latest

    assert [e.order_id for e in feed] == [o.order_id for o in reversed(orders)][:FEED_LENGTH]
    assert feed[0].total_usd == Decimal("10.00") and feed[0].currency == "EUR"
