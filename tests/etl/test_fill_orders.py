"""`storefront etl backfill`: order facts the warehouse lacks are filled in from PostgreSQL,
nothing it holds is written twice, and orders the worker has yet to write are left to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from analytics.compaction import rebuild_rollups
from analytics.lake import LakeLocation, LakeWarehouse, migrate, open_snapshot
from analytics.lake import rebuild_rollups as lake_rebuild
from analytics.warehouse import ParquetWarehouse, open_warehouse
from bootstrap.settings import Settings
from commerce.db import libpq_url, transaction
from dashboards.reports import report
from dashboards.schemas import Period, Report
from etl.extract import fill_orders, fill_orders_into_lake
from tests.conftest import own_shop
from tests.etl.test_nightly import contents, copy_of, monthly
from tests.history_shop import FIRST, LAST, Shop

MARCH = date(2025, 3, 1)


@pytest.fixture(scope="module")
async def shop(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """A shop whose warehouse writer has applied every event (its checkpoint is the last)."""
    async with own_shop(settings, tmp_path_factory) as opened:
        async with transaction(opened.sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO projection_checkpoints (consumer, seq) "
                    "SELECT 'warehouse', max(seq) FROM outbox"
                )
            )
        yield opened


@pytest.fixture
def extensions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "duckdb-extensions"


def forget_orders(warehouse: ParquetWarehouse, where: str) -> None:
    """Delete the order facts matching `where` by hand, and recount the rollups."""
    for table in ("fact_order_lines", "fact_order_events"):
        files = list(warehouse.manifest.files[table])
        listed = ", ".join(f"'{warehouse.root / f}'" for f in files)
        query = f"SELECT * FROM read_parquet([{listed}]) WHERE NOT ({where})"

        def kept(target: Path, query: str = query) -> None:
            duckdb.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")

        assert warehouse.replace(table, files, kept)
    rebuild_rollups(warehouse)


def placed_in_march(root: Path) -> str:
    with open_warehouse(root) as facts:
        ids = facts.execute(
            "SELECT DISTINCT order_id FROM fact_order_events "
            f"WHERE event = 'created' AND occurred_at >= '{MARCH}'"
        ).fetchall()
    listed = ", ".join(f"'{order_id}'" for (order_id,) in ids)
    return f"order_id IN ({listed})"


def last_two_placed(root: Path) -> tuple[str, str]:
    """The two orders placed last in the warehouse at `root`."""
    with open_warehouse(root) as facts:
        found = facts.execute(
            "SELECT order_id FROM fact_order_events WHERE event = 'created' "
            "ORDER BY event_seq DESC LIMIT 2"
        ).fetchall()
    return found[0][0], found[1][0]


@asynccontextmanager
async def created_again(shop: Shop, order_id: str) -> AsyncIterator[None]:
    """While inside, the order's order.created waits in the outbox past the worker's
    checkpoint, as if committed but not yet streamed."""
    async with transaction(shop.sessions) as session:
        seq = await session.scalar(
            text(
                "INSERT INTO outbox (topic, key, event) SELECT topic, key, event FROM outbox "
                "WHERE key = :id AND event->>'type' = 'order.created' RETURNING seq"
            ),
            {"id": order_id},
        )
    try:
        yield
    finally:
        async with transaction(shop.sessions) as session:
            await session.execute(text("DELETE FROM outbox WHERE seq = :seq"), {"seq": seq})


async def test_a_warehouse_holding_every_order_gets_nothing_more(
    settings: Settings, shop: Shop, tmp_path: Path, extensions: Path
) -> None:
    warehouse = await copy_of(shop, tmp_path)
    before = contents(tmp_path)

    filled = fill_orders(warehouse, shop.database_url, FIRST, extensions)

    assert filled.orders_read > 400
    assert (filled.lines, filled.order_events) == (0, 0)
    assert contents(tmp_path) == before


async def test_lost_orders_are_filled_in_to_the_cent_and_once(
    shop: Shop, tmp_path: Path, extensions: Path
) -> None:
    warehouse = await copy_of(shop, tmp_path)
    streamed = monthly(tmp_path)
    march = placed_in_march(tmp_path)
    forget_orders(warehouse, march)
    assert monthly(tmp_path) != streamed

    filled = fill_orders(warehouse, shop.database_url, MARCH, extensions)
    rebuild_rollups(warehouse)

    assert filled.lines > 0 and filled.order_events > filled.lines / 10
    assert monthly(tmp_path) == streamed.model_copy(update={"as_of": monthly(tmp_path).as_of})
    again = fill_orders(warehouse, shop.database_url, FIRST, extensions)
    assert (again.lines, again.order_events) == (0, 0)


async def test_an_order_the_worker_has_yet_to_write_is_left_to_it(
    shop: Shop, tmp_path: Path, extensions: Path
) -> None:
    warehouse = await copy_of(shop, tmp_path)
    waiting, other = last_two_placed(tmp_path)
    forget_orders(warehouse, f"order_id IN ('{waiting}', '{other}')")
    async with created_again(shop, waiting):  # its order.created, not yet streamed
        fill_orders(warehouse, shop.database_url, FIRST, extensions)

    with open_warehouse(tmp_path) as facts:
        filled = dict(
            facts.execute(
                "SELECT order_id, count(*) FROM fact_order_lines "
                f"WHERE order_id IN ('{waiting}', '{other}') GROUP BY order_id"
            ).fetchall()
        )
    assert waiting not in filled and filled[other] > 0


async def lake_copy_of(shop: Shop, database_url: str, tmp_path: Path) -> LakeWarehouse:
    location = LakeLocation(libpq_url(database_url), tmp_path / "lake", tmp_path / "ext")
    lake = LakeWarehouse(location)
    migrate(shop.root, lake)
    return lake


def lake_monthly(lake: LakeWarehouse) -> Report:
    _, snapshot = open_snapshot(lake._connection, lake.location.data)
    with snapshot:
        return report(snapshot, Period.monthly, FIRST, LAST, None)


def forget_in_lake(lake: LakeWarehouse, where: str) -> None:
    for table in ("fact_order_lines", "fact_order_events"):
        lake.replace(table, f"SELECT * FROM {table} WHERE NOT ({where})")
    lake_rebuild(lake)


async def test_lost_orders_are_filled_into_the_lake_to_the_cent_and_once(
    shop: Shop, fresh_database: str, tmp_path: Path
) -> None:
    lake = await lake_copy_of(shop, fresh_database, tmp_path)
    streamed = lake_monthly(lake)
    forget_in_lake(lake, placed_in_march(shop.root))
    assert lake_monthly(lake) != streamed

    filled = fill_orders_into_lake(lake, shop.database_url, MARCH)
    lake_rebuild(lake)

    assert filled.lines > 0 and filled.order_events > filled.lines / 10
    assert lake_monthly(lake) == streamed
    again = fill_orders_into_lake(lake, shop.database_url, FIRST)
    assert (again.lines, again.order_events) == (0, 0)


async def test_an_order_the_worker_has_yet_to_write_is_left_to_it_in_the_lake(
    shop: Shop, fresh_database: str, tmp_path: Path
) -> None:
    lake = await lake_copy_of(shop, fresh_database, tmp_path)
    waiting, other = last_two_placed(shop.root)
    forget_in_lake(lake, f"order_id IN ('{waiting}', '{other}')")
    async with created_again(shop, waiting):  # its order.created, not yet streamed
        fill_orders_into_lake(lake, shop.database_url, FIRST)

    _, snapshot = open_snapshot(lake._connection, lake.location.data)
    filled = dict(
        snapshot.execute(
            "SELECT order_id, count(*) FROM fact_order_lines "
            f"WHERE order_id IN ('{waiting}', '{other}') GROUP BY order_id"
        ).fetchall()
    )
    assert waiting not in filled and filled[other] > 0
