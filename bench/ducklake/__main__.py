"""bench/ducklake: today's warehouse (Parquet files behind our manifest) and DuckLake side by
side, on the same facts.

    .venv/bin/python bench/ducklake [--lines 2000000] [--batches 200]

Fills the warehouse from order history in PostgreSQL as `etl backfill` does and rebuilds the
rollups, copies every table into a DuckLake (catalog in the same PostgreSQL, Parquet data
files in a folder), then measures both:
  1. a worker batch's append (20 order lines, one transaction), and a stream batch as the
     worker writes it each second (rows for every table, with its record);
  2. opening the latest snapshot and reading it (the notebook's first cell);
  3. every dashboard report from the rollups, on an open snapshot: through the attached
     DuckLake, and through its snapshot's files listed once (the catalog asked per snapshot,
     not per query);
  4. the six ad-hoc queries of bench/dashboards, the same three ways.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
import duckdb
import duckdb_extension_ducklake
import pyarrow as pa
from common import embedded_stack, machine, order_history, percentiles

from analytics.compaction import rebuild_rollups
from analytics.lake import LakeLocation, LakeWarehouse
from analytics.schema import TABLES
from analytics.warehouse import DIM_DATE, Manifest, ParquetWarehouse, open_warehouse
from commerce.db import libpq_url
from dashboards.reports import report
from dashboards.schemas import Period
from etl.extract import attach_postgres, fill_orders

LAST = date(2025, 12, 31)
REPORTS = {
    "daily, 30 days": (Period.daily, LAST - timedelta(days=29)),
    "daily, 2 years": (Period.daily, LAST - timedelta(days=730)),
    "weekly, 1 year": (Period.weekly, LAST - timedelta(days=364)),
    "monthly, 2 years": (Period.monthly, LAST - timedelta(days=730)),
}


def _dashboards_queries() -> dict[str, str]:
    """The ad-hoc queries bench/dashboards runs (a bench imports no other bench's package)."""
    path = Path(__file__).parent.parent / "dashboards" / "__main__.py"
    spec = importlib.util.spec_from_file_location("bench_dashboards", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    queries: dict[str, str] = module.QUERIES
    return queries


def ms(run: Callable[[], object], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def lake(
    database_url: str, data: Path, extensions: Path, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """DuckLake attached as `lake` and in use: its catalog in PostgreSQL, its files in `data`."""
    connection = duckdb.connect()
    attach_postgres(connection, database_url, extensions)
    shipped = Path(duckdb_extension_ducklake.__file__).parent / "extensions"
    connection.execute(f"LOAD '{shipped / f'v{duckdb.__version__}' / 'ducklake.duckdb_extension'}'")
    options = f"DATA_PATH '{data}', METADATA_SCHEMA 'ducklake', DATA_INLINING_ROW_LIMIT 0"
    connection.execute(
        f"ATTACH 'ducklake:postgres:{libpq_url(database_url)}' AS lake "
        f"({options}{', READ_ONLY' if read_only else ''})"
    )
    connection.execute("USE lake")
    connection.execute(DIM_DATE.replace("CREATE VIEW", "CREATE TEMP VIEW"))
    return connection


def lake_cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cursor = connection.cursor()
    cursor.execute("USE lake")
    return cursor


def listed_once(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The latest snapshot's files read as plain Parquet: the catalog asked once, not per query."""
    files = {
        table: [
            path
            for (path,) in connection.execute(
                "SELECT data_file FROM ducklake_list_files('lake', ?)", [table]
            ).fetchall()
        ]
        for table in TABLES
    }
    return open_warehouse("/", Manifest(files=files))


def order_lines(count: int) -> pa.Table:
    schema = TABLES["fact_order_lines"]
    rows: list[dict[str, Any]] = [
        {name: None for name in schema.names}
        | {"order_id": str(uuid.uuid4()), "line_id": str(uuid.uuid4()), "quantity": 1}
        for _ in range(count)
    ]
    return pa.Table.from_pylist(rows, schema)


def copy_into_lake(root: Path, writer: duckdb.DuckDBPyConnection) -> None:
    with open_warehouse(root) as source:
        for table in TABLES:
            writer.register("incoming", source.execute(f"SELECT * FROM {table}").arrow())
            writer.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
            writer.unregister("incoming")


def appends(warehouse: ParquetWarehouse, writer: duckdb.DuckDBPyConnection, batches: int) -> None:
    print(f"\n1. a worker batch appended ({batches} batches of 20 order lines)")
    frames = [order_lines(20) for _ in range(batches)]
    parquet: list[float] = []
    for frame in frames:
        parquet += ms(lambda f=frame: warehouse.append({"fact_order_lines": f.to_pylist()}, [1]), 1)

    def append(frame: pa.Table) -> None:
        writer.execute("BEGIN")
        writer.register("incoming", frame)
        writer.execute("INSERT INTO fact_order_lines SELECT * FROM incoming")
        writer.unregister("incoming")
        writer.execute("COMMIT")

    ducklake: list[float] = []
    for frame in frames:
        ducklake += ms(lambda f=frame: append(f), 1)
    print(f"  Parquet+manifest {percentiles(parquet)}")
    print(f"  DuckLake         {percentiles(ducklake)}")


def stream_batches(root: Path, location: LakeLocation, batches: int) -> None:
    """What the worker writes each second: a batch touching every table it has rows for."""
    with open_warehouse(root) as source:
        sample = {
            table: source.execute(f"SELECT * FROM {table} LIMIT 50").arrow().read_all().cast(schema)
            for table, schema in TABLES.items()
        }
    rows = {table: data.to_pylist() for table, data in sample.items() if data.num_rows}
    print(f"\n1b. a stream batch: 50 rows into each of {len(rows)} tables ({batches} batches)")
    parquet = ParquetWarehouse(root.parent / "stream-parquet")
    lake_writer = LakeWarehouse(location)
    for name, writer in (("Parquet+manifest", parquet), ("DuckLake", lake_writer)):
        cpu = time.process_time()
        spent = ms(lambda w=writer: w.append(rows, [1]), batches)
        cpu_ms = (time.process_time() - cpu) / batches * 1000
        print(f"  {name:<16} {percentiles(spent)}; this process's CPU {cpu_ms:.1f} ms a batch")


def reads(root: Path, open_lake: Callable[[], duckdb.DuckDBPyConnection]) -> None:
    queries = _dashboards_queries()
    count = "SELECT count(*) FROM fact_order_lines"
    print("\n2. open the latest snapshot and count the order lines (the notebook's first read)")
    first_parquet = ms(lambda: open_warehouse(root).execute(count).fetchall(), 10)
    first_lake = ms(lambda: open_lake().execute(count).fetchall(), 10)
    print(f"  Parquet+manifest median {statistics.median(first_parquet):.1f} ms")
    print(f"  DuckLake         median {statistics.median(first_lake):.1f} ms")

    print("\n3. dashboard reports from the rollups, p95 on an open snapshot")
    parquet, attached = open_warehouse(root), open_lake()
    listing = ms(lambda: listed_once(attached), 10)
    print(f"  (listing a DuckLake snapshot's files: median {statistics.median(listing):.1f} ms)")
    listed = listed_once(attached)
    for name, (period, start) in REPORTS.items():
        a = ms(lambda p=period, s=start: report(parquet.cursor(), p, s, LAST, None), 30)
        b = ms(lambda p=period, s=start: report(lake_cursor(attached), p, s, LAST, None), 30)
        c = ms(lambda p=period, s=start: report(listed.cursor(), p, s, LAST, None), 30)
        print(
            f"  {name:<18} Parquet+manifest {p95(a):6.1f} ms · DuckLake attached {p95(b):6.1f} ms"
            f" · DuckLake files listed once {p95(c):6.1f} ms"
        )

    print("\n4. ad-hoc queries, median of 5")
    for name, sql in queries.items():
        a, b, c = (
            statistics.median(ms(lambda db=db, q=sql: db.execute(q).fetchall(), 5))
            for db in (parquet, attached, listed)
        )
        print(f"  {name:<34} {a:7.1f} ms · {b:7.1f} ms · {c:7.1f} ms (same order as above)")


async def main(lines: int, batches: int) -> None:
    print(f"bench/ducklake on {machine()}; {lines:,} order lines")
    async with embedded_stack() as bench:
        url = bench.settings.require("database_url")
        extensions = bench.root / "duckdb-extensions"
        root = bench.settings.warehouse_dir
        started = time.perf_counter()
        await order_history(bench.sessions, lines)
        warehouse = ParquetWarehouse(root)
        fill_orders(warehouse, url, date(2000, 1, 1), extensions)
        rebuild_rollups(warehouse)
        print(f"history and the Parquet warehouse in {time.perf_counter() - started:.0f} s")

        data = bench.root / "lake"
        writer = lake(url, data, extensions)
        started = time.perf_counter()
        copy_into_lake(root, writer)
        print(f"every table copied into DuckLake in {time.perf_counter() - started:.1f} s")
        appends(warehouse, writer, batches)
        stream = LakeLocation(libpq_url(url), bench.root / "stream-lake", extensions)
        stream_batches(root, stream, 30)
        reads(root, lambda: lake(url, data, extensions, read_only=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--batches", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.lines, arguments.batches))
