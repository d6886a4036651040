"""The Parquet warehouse: atomic batches, and readers in other processes while it writes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from analytics.compaction import compact
from analytics.warehouse import ParquetWarehouse, open_warehouse

READER = Path(__file__).with_name("reader_process.py")


def batch(n: int, size: int) -> dict[str, list[dict[str, Any]]]:
    now = datetime(2026, 11, 25, 12, 0)
    product = str(uuid.uuid4())
    dims = [
        {
            "event_seq": n * size + i,
            "event_id": str(uuid.uuid4()),
            "product_id": product,
            "version": i + 1,
            "sku": f"S-{n}",
            "name": "Lamp",
            "brand": "Acme",
            "category": "lighting",
            "category_path": "home/lighting",
            "price": Decimal("9.99"),
            "currency": "USD",
            "rating": 4.0,
            "deleted": False,
            "valid_from": now,
        }
        for i in range(size)
    ]
    facts = [
        {
            "event_seq": n * size + i,
            "event_id": str(uuid.uuid4()),
            "movement_id": n * size + i,
            "product_id": product,
            "sku": f"S-{n}",
            "warehouse": "berlin",
            "delta": 1,
            "on_hand_after": i + 1,
            "available_after": i + 1,
            "reason": "count",
            "occurred_at": now,
        }
        for i in range(size)
    ]
    return {"dim_product": dims, "fact_stock_movements": facts}


def test_empty_warehouse_has_typed_empty_tables(tmp_path: Path) -> None:
    with open_warehouse(tmp_path) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM dim_product").fetchone() == (0,)
        columns = [c[0] for c in warehouse.execute("DESCRIBE fact_stock_movements").fetchall()]
    assert "occurred_at" in columns


def test_batches_are_visible_whole_and_keep_types(tmp_path: Path) -> None:
    writer = ParquetWarehouse(tmp_path)
    writer.append(batch(0, 3), seqs=[0, 1, 2])
    writer.append(batch(1, 3), seqs=[3, 4, 5])

    with open_warehouse(tmp_path) as warehouse:
        total, price = warehouse.execute("SELECT count(*), sum(price) FROM dim_product").fetchone()
    assert (total, price) == (6, Decimal("59.94"))
    assert ParquetWarehouse(tmp_path).manifest.unconfirmed_seqs == [3, 4, 5]


def test_unlisted_files_are_invisible(tmp_path: Path) -> None:
    """A file written but not yet in the manifest (a writer that died) is never read."""
    writer = ParquetWarehouse(tmp_path)
    writer.append(batch(0, 2), seqs=[0, 1])
    orphan = tmp_path / "dim_product" / "9999999999-orphan.parquet"
    orphan.write_bytes((tmp_path / writer.manifest.files["dim_product"][0]).read_bytes())

    with open_warehouse(tmp_path) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM dim_product").fetchone() == (2,)


def test_reader_process_never_blocks_nor_sees_half_a_batch(tmp_path: Path) -> None:
    batches, size = 150, 20
    reader = subprocess.Popen(
        [sys.executable, str(READER), str(tmp_path), str(batches * size), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().strip() == "ready"
    writer = ParquetWarehouse(tmp_path)
    for n in range(batches):
        writer.append(batch(n, size), seqs=list(range(n * size, (n + 1) * size)))
        if n % 10 == 9:  # compaction swaps files under the reader too
            assert compact(writer, "fact_stock_movements")
    out, _ = reader.communicate(timeout=150)
    report = json.loads(out)

    assert report["errors"] == []
    assert report["torn"] == 0
    assert report["last"] == batches * size
    assert report["distinct"] > 1, "the reader never overlapped the writer"
    assert len(writer.manifest.files["fact_stock_movements"]) < 10


def test_compaction_keeps_rows_and_their_order_and_retires_old_files(tmp_path: Path) -> None:
    writer = ParquetWarehouse(tmp_path)
    for n in range(4):
        writer.append(batch(n, 3), seqs=[n])
    old = list(writer.manifest.files["fact_stock_movements"])

    assert compact(writer, "fact_stock_movements")

    with open_warehouse(tmp_path) as warehouse:
        read = warehouse.execute("SELECT event_seq FROM fact_stock_movements").fetchall()
    seqs = [row[0] for row in read]
    assert seqs == list(range(12))
    assert len(writer.manifest.files["fact_stock_movements"]) == 1
    assert [path for path, _ in writer.manifest.retired] == old
    assert all((tmp_path / path).exists() for path in old), "readers may still list them"
    assert writer.manifest.unconfirmed_seqs == [3], "the worker's record survives"


def test_a_replace_loses_to_a_writer_that_replaced_the_same_files(tmp_path: Path) -> None:
    first, second = ParquetWarehouse(tmp_path), ParquetWarehouse(tmp_path)
    for n in range(3):
        first.append(batch(n, 2), seqs=[n])
    files = list(first.manifest.files["dim_product"])

    assert compact(second, "dim_product", files)
    assert not compact(first, "dim_product", files), "its files are gone: nothing changes"
    second.append(batch(9, 2), seqs=[9])  # and a writer re-reads the manifest first

    with open_warehouse(tmp_path) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM dim_product").fetchone() == (8,)


def test_threads_sharing_one_warehouse_take_turns_and_a_turn_nests(tmp_path: Path) -> None:
    warehouse = ParquetWarehouse(tmp_path)
    holding, release, happened = threading.Event(), threading.Event(), []

    def first() -> None:
        with warehouse.writing(), warehouse.writing():  # nested: the same turn
            holding.set()
            release.wait(30)
            happened.append("first")

    def second() -> None:
        with warehouse.writing():
            happened.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert holding.wait(30)
    threads[1].start()
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second thread wrote during the first one's turn"
    release.set()
    for thread in threads:
        thread.join(30)
    assert happened == ["first", "second"]


def test_the_date_dimension_names_weeks_months_and_weekends(tmp_path: Path) -> None:
    with open_warehouse(tmp_path) as warehouse:
        found = warehouse.execute(
            "SELECT day, week_start, month_start, iso_week, weekend FROM dim_date "
            "WHERE day IN ('2025-01-04', '2025-12-29') ORDER BY day"
        ).fetchall()

    assert [tuple(str(v) for v in row) for row in found] == [
        ("2025-01-04", "2024-12-30", "2025-01-01", "1", "True"),
        ("2025-12-29", "2025-12-29", "2025-12-01", "1", "False"),
    ]
