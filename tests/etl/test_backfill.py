"""A fresh bulk load is projected from PostgreSQL, then streams on as if it had been streamed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.db import create_engine, session_factory, transaction
from demo import catalog as demo_catalog
from etl.backfill import backfill
from search import service
from search.query import ProductQuery
from search.tantivy_backend import TantivyBackend
from streams.handlers import consumer_names


async def test_a_fresh_load_is_indexed_and_checkpointed(
    fresh_database: str, tmp_path: Path
) -> None:
    engine = create_engine(fresh_database)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        await demo_catalog.load(session, 120)
    search = TantivyBackend(tmp_path / "search", writer=True)
    warehouse = ParquetWarehouse(tmp_path / "warehouse")
    try:
        done = await backfill(sessions, search, warehouse, consumer_names())
        again = await backfill(sessions, search, warehouse, consumer_names())
        async with sessions() as session:
            high = await session.scalar(text("SELECT max(seq) FROM outbox"))
            unpublished = await session.scalar(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
            checkpoints = dict(
                (await session.execute(text("SELECT consumer, seq FROM projection_checkpoints")))
                .tuples()
                .all()
            )
        found = await service.search(search, ProductQuery(size=1))
    finally:
        await search.close()
        await engine.dispose()

    assert done is not None and done.documents == 120 and done.events == high
    assert again is None, "a stack that has streamed is left to the worker"
    assert found.total == 120
    assert unpublished == 0
    assert checkpoints == {name: high for name in consumer_names()}
    with open_warehouse(tmp_path / "warehouse") as warehouse_view:
        products = warehouse_view.sql("SELECT count(DISTINCT product_id) FROM dim_product")
        assert products.fetchone() == (120,)
