"""A shop with a past of its own: a fresh database, the demo catalog, 90 days of history,
and the outbox streamed into a warehouse by the worker's warehouse writer (in batches of the
worker's size, with its real order lookups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from analytics.warehouse import ParquetWarehouse
from commerce.db import create_engine, session_factory, transaction
from commerce.events import Envelope
from demo import catalog as demo_catalog
from demo.history import load_history
from streams.projections import warehouse_writer

FIRST, LAST = date(2025, 1, 1), date(2025, 3, 31)
BATCH = 700


@dataclass
class Shop:
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    root: Path


async def open_shop(database_url: str, root: Path) -> Shop:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        await demo_catalog.load(session, 300)
    async with transaction(sessions) as session:
        assert await load_history(session, 90, orders_per_day=6, end=LAST) > 400
    await stream(sessions, ParquetWarehouse(root))
    return Shop(database_url, engine, sessions, root)


async def stream(sessions: async_sessionmaker[AsyncSession], warehouse: ParquetWarehouse) -> None:
    """What the worker does with the outbox, in batches of its size."""
    writer = warehouse_writer(warehouse, sessions)
    after = 0
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    text("SELECT seq, event FROM outbox WHERE seq > :after ORDER BY seq LIMIT :n"),
                    {"after": after, "n": BATCH},
                )
            ).all()
        if not rows:
            return
        await writer.apply([Envelope.model_validate({**r.event, "seq": r.seq}) for r in rows])
        after = rows[-1].seq
