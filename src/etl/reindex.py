"""`storefront search reindex`: rebuild the search index from PostgreSQL beside the live one
and swap to it in one step, while searches (and the worker) carry on.

Products that change while the copy runs are caught up from the outbox: every event the
worker could have applied to the old index was committed before it was read, so indexing
again the products of events after the starting point, once after the swap, leaves the new
index exactly current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.service import current_products
from commerce.events import Envelope
from commerce.orders.reporting import units_sold
from etl.backfill import HIGHEST, index_catalog
from search.backend import SearchBackend
from search.indexing import affected_products, index_changes

CHANGED_SINCE = text("""
SELECT seq, event FROM outbox
WHERE seq > :after AND (event->>'type' LIKE 'product.%' OR event->>'type' LIKE 'stock.%')
ORDER BY seq
""")
PRODUCTS = text("SELECT count(*) FROM products")


@dataclass(frozen=True)
class Reindexed:
    documents: int
    caught_up: int
    index: str


async def products_to_index(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(PRODUCTS) or 0)


async def reindex(
    sessions: async_sessionmaker[AsyncSession],
    search: SearchBackend,
    progress: Callable[[int], None] = lambda n: None,
) -> Reindexed:
    """Fill a new index beside the live one, swap to it, and catch up what changed."""
    since = await _highest(sessions)
    rebuild = await search.rebuild()
    try:
        documents = await index_catalog(sessions, rebuild.target, progress)
        since, caught = await catch_up(sessions, rebuild.target, since)
        # The embedded worker moves over once the rebuild's writer is released; what it
        # wrote to the old index meanwhile was committed before this second catch-up reads.
        await rebuild.swap()
        _, more = await catch_up(sessions, rebuild.target, since)
    finally:
        await rebuild.close()
    return Reindexed(documents, caught + more, rebuild.name)


async def catch_up(
    sessions: async_sessionmaker[AsyncSession], search: SearchBackend, after: int
) -> tuple[int, int]:
    """Index again the products of catalog and stock events after seq `after`; returns the
    last seq read and how many products were indexed."""
    async with sessions() as session:
        rows = (await session.execute(CHANGED_SINCE, {"after": after})).all()
        if not rows:
            return after, 0
        events = [Envelope.model_validate({**row.event, "seq": row.seq}) for row in rows]
        ids = list(affected_products(events))
        current = await current_products(session, ids)
        sold = await units_sold(session, ids)
    await search.apply(*index_changes(ids, current, sold))
    return int(rows[-1].seq), len(ids)


async def _highest(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(HIGHEST) or 0)
