"""Build the projections straight from PostgreSQL, for a bulk load nothing has consumed yet.

Streaming a freshly loaded catalog through the broker takes the worker tens of seconds (the
demo's 55k events); reading it back in bulk takes a few. For a stack where no event was
published or applied yet, this indexes the current state into search, writes the warehouse
rows from the outbox, then marks those events published and moves every consumer's
checkpoint past them, as if the worker had streamed them. Anything written afterwards
streams as usual. On a stack that has already streamed, it does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.rollups import batch_rows, orders_to_look_up
from analytics.warehouse import ParquetWarehouse
from commerce.catalog.service import current_products
from commerce.db import transaction
from commerce.events import Envelope
from commerce.inventory.service import stock_rows
from commerce.orders.reporting import sold_orders, units_sold
from search.backend import SearchBackend
from search.indexing import index_changes
from search.stock import StockIndex, stock_documents

CHUNK = 5_000

UNTOUCHED = text("""
SELECT NOT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE seq > 0)
   AND NOT EXISTS (SELECT 1 FROM processed_events)
""")
HIGHEST = text("SELECT coalesce(max(seq), 0) FROM outbox")
PRODUCT_IDS = text("SELECT id FROM products WHERE id > :after ORDER BY id LIMIT :limit")
EVENTS = text("""
SELECT seq, event FROM outbox WHERE seq > :after AND seq <= :high ORDER BY seq LIMIT :limit
""")
MARK = text("UPDATE outbox SET published_at = clock_timestamp() WHERE seq <= :high")
CHECKPOINT = text("""
INSERT INTO projection_checkpoints (consumer, seq) SELECT unnest(CAST(:names AS text[])), :high
ON CONFLICT (consumer) DO UPDATE SET seq = greatest(projection_checkpoints.seq, excluded.seq)
""")


@dataclass(frozen=True)
class Backfilled:
    events: int
    documents: int


async def backfill(
    sessions: async_sessionmaker[AsyncSession],
    search: SearchBackend,
    warehouse: ParquetWarehouse,
    consumers: Sequence[str],
) -> Backfilled | None:
    """Project everything in the outbox from current state; None if something streamed."""
    async with sessions() as session:
        if not await session.scalar(UNTOUCHED):
            return None
        high = int(await session.scalar(HIGHEST) or 0)
    if high == 0:
        return Backfilled(0, 0)
    documents = await index_catalog(sessions, search)
    await _warehouse(sessions, warehouse, high)
    async with transaction(sessions) as session:
        await session.execute(MARK, {"high": high})
        await session.execute(CHECKPOINT, {"names": list(consumers), "high": high})
    return Backfilled(high, documents)


async def product_chunks(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[AsyncSession, list[uuid.UUID]]]:
    """Every product id, deleted ones included, CHUNK at a time in id order, each chunk with
    a session to read its rows in (closed before the next chunk is read)."""
    after = uuid.UUID(int=0)
    while True:
        async with sessions() as session:
            ids = list(await session.scalars(PRODUCT_IDS, {"after": after, "limit": CHUNK}))
            if not ids:
                return
            yield session, ids
        after = ids[-1]


async def index_catalog(
    sessions: async_sessionmaker[AsyncSession],
    search: SearchBackend,
    progress: Callable[[int], None] = lambda indexed: None,
) -> int:
    """Index every product's current state; returns how many documents were written
    (`progress` hears of each chunk's products)."""
    indexed = 0
    async for session, ids in product_chunks(sessions):
        current = await current_products(session, ids)
        sold = await units_sold(session, ids)
        upserts, deletes = index_changes(ids, current, sold)
        await search.apply(upserts, deletes)
        indexed += len(upserts)
        progress(len(ids))
    return indexed


async def index_stock(
    sessions: async_sessionmaker[AsyncSession], index: StockIndex, default_line: int
) -> int:
    """Write every product's stock documents; returns how many were written."""
    indexed = 0
    async for session, ids in product_chunks(sessions):
        documents = stock_documents(await stock_rows(session, ids), default_line)
        await index.replace_products(ids, documents)
        indexed += len(documents)
    return indexed


async def _warehouse(
    sessions: async_sessionmaker[AsyncSession], warehouse: ParquetWarehouse, high: int
) -> None:
    after = 0
    while after < high:
        async with sessions() as session:
            rows = (
                await session.execute(EVENTS, {"after": after, "high": high, "limit": CHUNK * 4})
            ).all()
            if not rows:
                return
            events = [Envelope.model_validate({**row.event, "seq": row.seq}) for row in rows]
            orders = await sold_orders(session, orders_to_look_up(events))
        warehouse.append(batch_rows(events, orders), [row.seq for row in rows])
        after = rows[-1].seq
