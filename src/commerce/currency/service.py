"""Which rates apply now: Redis for an hour, else the newest fetched day, else the snapshot."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.currency.feed import EcbFeed
from commerce.currency.rates import RateFeedError, RateTable, shipped_snapshot, wild_moves
from commerce.currency.repository import RateRepository

CACHE_KEY = "rates:current"
CACHE_SECONDS = 3600
REFUSED_KEY = "rates:refused"
#: No supported currency moves this much against the dollar in a day; a feed error does.
MAX_MOVE = 1.25


class RatesRefused(RateFeedError):
    """The feed's table failed the sanity checks; the previous day's rates stay."""


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
    found = await RateRepository(session).newest()
    if found is None:
        return None
    newest, rows = found
    return RateTable(
        date=newest, per_usd={row.currency: row.per_usd for row in rows}, source=rows[0].source
    )


async def refresh(
    session: AsyncSession, redis: Redis, feed: EcbFeed, *, max_move: float = MAX_MOVE
) -> RateTable:
    """Fetch today's rates, keep them, and stop serving the cached ones.

    A table in which any rate moved by more than `max_move` since the newest kept day is
    refused (RatesRefused): the previous day's rates stay in use, and the refusal is kept
    for the readiness check until a table is accepted.
    """
    try:
        table = await feed.fetch()
    except RateFeedError as unusable:
        await _refused(redis, str(unusable))
        raise
    previous = await newest_fetched(session) or shipped_snapshot()
    if moved := wild_moves(previous, table, max_move):
        reason = f"moved more than {max_move}x since {previous.date}: {'; '.join(moved.values())}"
        await _refused(redis, f"the rates of {table.date} {reason}")
        raise RatesRefused(f"Refused the rates of {table.date}: {reason}; kept {previous.date}'s.")
    rows = [
        {"rate_date": table.date, "currency": code, "per_usd": rate, "source": table.source}
        for code, rate in table.per_usd.items()
    ]
    await RateRepository(session).keep(rows)
    await session.commit()
    await redis.delete(CACHE_KEY, REFUSED_KEY)
    return table


async def _refused(redis: Redis, reason: str) -> None:
    refusal = {"reason": reason, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    await redis.set(REFUSED_KEY, json.dumps(refusal))


async def last_refusal(redis: Redis) -> dict[str, str] | None:
    """The feed's last refused table since one was accepted: why, and when."""
    raw = await redis.get(REFUSED_KEY)
    found: dict[str, str] | None = json.loads(raw) if raw else None
    return found


def age_in_days(table: RateTable, today: date) -> int:
    return (today - table.date).days
