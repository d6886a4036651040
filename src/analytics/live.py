"""Live counters in Redis: paid orders and revenue this minute and today, and a feed of the
latest, kept by the worker as orders are paid and read by the realtime dashboard.

An order counts once however often its event is delivered: the first delivery claims the
order's key and adds to the counters in the same script, so a crash between the two cannot
count it twice or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from pydantic import BaseModel
from redis.asyncio import Redis

FEED_LENGTH = 50
MINUTE_TTL = timedelta(hours=2)
DAY_TTL = timedelta(days=3)
FIELDS = ["orders", "revenue_cents"]

COUNT_PAID = """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[4]) then return 0 end
for i = 2, 3 do
  redis.call('HINCRBY', KEYS[i], 'orders', 1)
  redis.call('HINCRBY', KEYS[i], 'revenue_cents', ARGV[1])
end
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('LPUSH', KEYS[4], ARGV[2])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[3]) - 1)
return 1
"""


@dataclass(frozen=True)
class PaidOrder:
    order_id: str
    customer_id: str
    currency: str
    total: Decimal
    total_usd: Decimal
    units: int
    paid_at: datetime


class FeedEntry(BaseModel):
    order_id: str
    currency: str
    total: Decimal
    total_usd: Decimal
    units: int
    paid_at: datetime


class Tally(BaseModel):
    orders: int
    revenue_usd: Decimal


@dataclass(frozen=True)
class Snapshot:
    last_hour: Tally
    today: Tally
    latest: list[FeedEntry]


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


class LiveCounters:
    def __init__(self, redis: Redis, prefix: str = "live") -> None:
        self.redis = redis
        self.prefix = prefix
        self._count_paid = redis.register_script(COUNT_PAID)

    def _keys(self, order: PaidOrder) -> list[str]:
        day = order.paid_at.astimezone(UTC).date()
        return [
            f"{self.prefix}:counted:{order.order_id}",
            f"{self.prefix}:minute:{_minute(order.paid_at)}",
            f"{self.prefix}:day:{day}",
            f"{self.prefix}:feed",
        ]

    async def paid(self, order: PaidOrder) -> bool:
        """Count a paid order; False if it was counted before."""
        entry = FeedEntry(
            order_id=order.order_id,
            currency=order.currency,
            total=order.total,
            total_usd=order.total_usd,
            units=order.units,
            paid_at=order.paid_at,
        )
        counted = await self._count_paid(
            keys=self._keys(order),
            args=[
                _cents(order.total_usd),
                entry.model_dump_json(),
                FEED_LENGTH,
                int(DAY_TTL.total_seconds()),
                int(MINUTE_TTL.total_seconds()),
            ],
        )
        return bool(counted)

    async def now(self, now: datetime, feed: int = 20) -> Snapshot:
        """The last 60 minutes up to `now`'s, `now`'s UTC day and the latest paid orders,
        newest first, read together: an order counted is in all three or in none."""
        last = _minute(now)
        async with self.redis.pipeline(transaction=True) as pipe:
            for minute in range(last - 59, last + 1):
                pipe.hmget(f"{self.prefix}:minute:{minute}", FIELDS)
            pipe.hmget(f"{self.prefix}:day:{now.astimezone(UTC).date()}", FIELDS)
            pipe.lrange(f"{self.prefix}:feed", 0, feed - 1)
            *minutes, day, latest = await pipe.execute()
        return Snapshot(
            last_hour=_tally(minutes),
            today=_tally([day]),
            latest=[FeedEntry.model_validate(orjson.loads(item)) for item in latest],
        )


def _tally(counts: list[list[bytes | str | None]]) -> Tally:
    orders = sum(int(pair[0] or 0) for pair in counts)
    cents = sum(int(pair[1] or 0) for pair in counts)
    return Tally(orders=orders, revenue_usd=(Decimal(cents) / 100).quantize(Decimal("0.01")))
