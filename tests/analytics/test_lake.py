"""The warehouse on DuckLake: atomic batches with their bookkeeping, snapshots read as plain
Parquet, writers side by side, and a Parquet warehouse folder migrated row for row."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from analytics.compaction import compact
from analytics.lake import LakeLocation, LakeWarehouse, connect, migrate, open_snapshot
from analytics.schema import TABLES
from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.db import libpq_url
from tests.analytics.test_warehouse import batch


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
