"""The warehouse on DuckLake: atomic batches with their bookkeeping, snapshots read as plain
Parquet, writers side by side, and a Parquet warehouse folder migrated row for row."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from analytics.compaction import compact
from analytics.lake import (
    LakeLocation,
    LakeWarehouse,
    connect,
    expire,
    fold_rollups,
    migrate,
    open_snapshot,
    rebuild_rollups,
)
from analytics.schema import TABLES
from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.db import libpq_url
from dashboards.reports import report
from dashboards.schemas import Period
from tests.analytics.test_warehouse import batch
from tests.history_shop import FIRST, LAST, Shop


@pytest.fixture
def location(fresh_database: str, tmp_path: Path) -> LakeLocation:
    return LakeLocation(libpq_url(fresh_database), tmp_path / "lake", tmp_path / "extensions")


def test_a_batch_lands_whole_with_its_seqs_and_marks(location: LakeLocation) -> None:
    writer = LakeWarehouse(location)
    writer.append(batch(0, 3), seqs=[0, 1, 2], marks={"rates": "2026-11-01"})
    writer.append(batch(1, 3), seqs=[3, 4, 5])

    state = writer.state()
    assert state.unconfirmed_seqs == [3, 4, 5]
    assert state.marks == {"rates": "2026-11-01"}, "a later batch keeps earlier marks"
    _, snapshot = open_snapshot(writer._connection, location.data)
    with snapshot:
        total, price = snapshot.execute("SELECT count(*), sum(price) FROM dim_product").fetchone()
    assert (total, price) == (6, Decimal("59.94"))


def test_a_batch_that_fails_midway_leaves_nothing(location: LakeLocation) -> None:
    writer = LakeWarehouse(location)
    writer.append(batch(0, 2), seqs=[0, 1])
    rows = batch(1, 2)
    products = pa.Table.from_pylist(rows["dim_product"], TABLES["dim_product"])
    # The second table's insert fails inside the transaction, after the first one's.
    movements = TABLES["fact_stock_movements"]
    wrong = movements.set(movements.get_field_index("delta"), pa.field("delta", pa.string()))
    for row in rows["fact_stock_movements"]:
        row["delta"] = "a lot"
    broken = pa.Table.from_pylist(rows["fact_stock_movements"], wrong)

    with pytest.raises(duckdb.ConversionException):
        writer.append_tables({"dim_product": products, "fact_stock_movements": broken}, seqs=[2, 3])

    assert writer.state().unconfirmed_seqs == [0, 1]
    _, snapshot = open_snapshot(writer._connection, location.data)
    assert snapshot.execute("SELECT count(*) FROM dim_product").fetchone() == (2,)


def test_an_open_snapshot_never_changes_and_the_next_one_sees_more(
    location: LakeLocation,
) -> None:
    writer = LakeWarehouse(location)
    writer.append(batch(0, 2), seqs=[0, 1])
    reader = connect(location, read_only=True)
    first_id, first = open_snapshot(reader, location.data)

    writer.append(batch(1, 2), seqs=[2, 3])
    second_id, second = open_snapshot(reader, location.data)

    assert first.execute("SELECT count(*) FROM fact_stock_movements").fetchone() == (2,)
    assert second.execute("SELECT count(*) FROM fact_stock_movements").fetchone() == (4,)
    assert second_id > first_id
    assert first.execute("SELECT count(*) FROM dim_date").fetchone()[0] > 30_000


def test_writers_side_by_side_lose_no_batch(location: LakeLocation) -> None:
    """Two writers (each its own DuckDB, as two processes would be) commit through the same
    catalog at once; DuckLake merges appends and retries what conflicts."""
    writers = [LakeWarehouse(location), LakeWarehouse(location)]
    failures: list[BaseException] = []

    def write(writer: LakeWarehouse, offset: int) -> None:
        try:
            for n in range(offset, offset + 10):
                writer.append(batch(n, 3), seqs=None)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w, 100 * i)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    _, snapshot = open_snapshot(writers[0]._connection, location.data)
    assert snapshot.execute("SELECT count(*) FROM fact_stock_movements").fetchone() == (60,)


def test_a_parquet_warehouse_migrates_row_for_row(location: LakeLocation, tmp_path: Path) -> None:
    folder = tmp_path / "warehouse"
    parquet = ParquetWarehouse(folder)
    for n in range(5):
        parquet.append(batch(n, 4), seqs=[n])
    assert compact(parquet, "fact_stock_movements")
    parquet.mark({"rates": "2026-11-30"})
    writer = LakeWarehouse(location)

    copied = migrate(folder, writer)
    again = migrate(folder, writer)

    assert copied["dim_product"] == copied["fact_stock_movements"] == 20
    assert again == {}, "a lake that holds data is never copied into twice"
    assert writer.state().unconfirmed_seqs == [4]
    assert writer.state().marks == {"rates": "2026-11-30"}
    _, snapshot = open_snapshot(writer._connection, location.data)
    with open_warehouse(folder) as before:
        for table in TABLES:
            everything = f"SELECT * FROM {table} ORDER BY ALL"
            assert snapshot.execute(everything).fetchall() == before.execute(everything).fetchall()


def funnel(day: int, events: int) -> dict[str, list[dict[str, Any]]]:
    return {"rollup_funnel": [{"day": date(2026, 11, day), "stage": "view", "events": events}]}


def test_a_replace_overlapping_a_batch_is_refused_and_loses_nothing(
    location: LakeLocation,
) -> None:
    """What rebuilding the rollups relies on: a rollup replaced while the worker appends a
    batch to it is refused (and redone by `replace`, now counting the batch's facts), not
    committed over the batch's rows."""
    rebuilder, worker = LakeWarehouse(location), LakeWarehouse(location)
    rebuilder.append(funnel(1, 5), seqs=None)
    db = rebuilder._connection
    db.execute("BEGIN")
    db.execute("DELETE FROM rollup_funnel")
    db.execute("INSERT INTO rollup_funnel SELECT DATE '2026-11-01', 'view', 50")

    worker.append(funnel(2, 7), seqs=None)

    with pytest.raises(duckdb.TransactionException):
        db.execute("COMMIT")
    _, snapshot = open_snapshot(worker._connection, location.data)
    assert snapshot.execute("SELECT sum(events) FROM rollup_funnel").fetchone() == (12,)


def test_folding_and_expiry_keep_the_sums_and_delete_what_only_old_snapshots_held(
    location: LakeLocation,
) -> None:
    writer = LakeWarehouse(location)
    for day in range(1, 6):
        writer.append(funnel(day % 2 + 1, day), seqs=None)
    old = writer.files_of("rollup_funnel")

    assert fold_rollups(writer, more_than=3) == ["rollup_funnel"]
    expire(writer, older_than_seconds=0)

    assert len(writer.files_of("rollup_funnel")) == 1
    assert not any(Path(path).exists() for path in old)
    _, snapshot = open_snapshot(writer._connection, location.data)
    folded = snapshot.execute("SELECT day, events FROM rollup_funnel ORDER BY day").fetchall()
    assert folded == [(date(2026, 11, 1), 2 + 4), (date(2026, 11, 2), 1 + 3 + 5)]


async def test_the_shop_migrated_and_rebuilt_reports_as_streamed(
    shop: Shop, fresh_database: str, tmp_path: Path
) -> None:
    location = LakeLocation(libpq_url(fresh_database), tmp_path / "lake", tmp_path / "ext")
    writer = LakeWarehouse(location)
    migrate(shop.root, writer)
    with open_warehouse(shop.root) as streamed:
        expected = report(streamed, Period.monthly, FIRST, LAST, None)

    rebuild_rollups(writer)
    rebuild_rollups(writer)  # the nightly ETL twice

    _, snapshot = open_snapshot(writer._connection, location.data)
    assert report(snapshot, Period.monthly, FIRST, LAST, None) == expected
    assert len(writer.files_of("rollup_orders")) == 1
