"""Which rates apply now: Redis for an hour, else the newest fetched day, else the snapshot."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.currency.feed import EcbFeed
from commerce.currency.models import ExchangeRate
from commerce.currency.rates import RateTable, shipped_snapshot

CACHE_KEY = "rates:current"
CACHE_SECONDS = 3600


async def current_rates(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, *, ttl: int = CACHE_SECONDS
) -> RateTable:
    cached = await redis.get(CACHE_KEY)
    if cached:
        return RateTable.model_validate_json(cached)
    async with sessions() as session:
        table = await newest_fetched(session) or shipped_snapshot()
    await redis.set(CACHE_KEY, table.model_dump_json(), ex=ttl)
    return table


async def newest_fetched(session: AsyncSession) -> RateTable | None:
    newest = await session.scalar(select(func.max(ExchangeRate.rate_date)))
    if newest is None:
        return None
    rows = (
        await session.scalars(select(ExchangeRate).where(ExchangeRate.rate_date == newest))
    ).all()
    return RateTable(
        date=newest, per_usd={row.currency: row.per_usd for row in rows}, source=rows[0].source
    )


async def refresh(session: AsyncSession, redis: Redis, feed: EcbFeed) -> RateTable:
    """Fetch today's rates, keep them, and stop serving the cached ones."""
    table = await feed.fetch()
    rows = [
        {"rate_date": table.date, "currency": code, "per_usd": rate, "source": table.source}
        for code, rate in table.per_usd.items()
    ]
    statement = insert(ExchangeRate).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["rate_date", "currency"],
            set_={"per_usd": statement.excluded.per_usd, "source": statement.excluded.source},
        )
    )
    await session.commit()
    await redis.delete(CACHE_KEY)
    return table


def age_in_days(table: RateTable, today: date) -> int:
    return (today - table.date).days
