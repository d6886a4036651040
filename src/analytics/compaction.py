"""Fewer, larger Parquet files: what keeps reads fast while the worker appends small ones.

Each worker batch adds a file per table it touches. Past `SMALL_FILES` small files a table
is compacted: a rollup is folded to one row per key (its rows are changes to sum), a fact
or dimension table has its trailing small files merged into one, rows in written order.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import duckdb

from analytics.rollups import fold_sql, rebuild_sql
from analytics.schema import ROLLUPS
from analytics.warehouse import ParquetWarehouse, open_warehouse, parquet_source

SMALL_FILES = 64
SMALL_BYTES = 8 << 20
#: DuckDB's working memory while it rewrites; it spills to disk past this.
MEMORY_LIMIT = "256MB"


def _copy(connection: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    quoted = str(target).replace("'", "''")
    connection.execute(f"COPY ({query}) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)")


def compact(warehouse: ParquetWarehouse, table: str, files: Sequence[str] | None = None) -> bool:
    """Rewrite `files` of `table` (all of them if not given) as one; False if nothing to do."""
    files = list(warehouse.manifest.files.get(table, []) if files is None else files)
    if len(files) < 2:
        return False
    source = parquet_source(warehouse.root, files)
    query = fold_sql(table, source) if table in ROLLUPS else f"SELECT * FROM {source}"
    with duckdb.connect(":memory:") as connection:
        return warehouse.replace(table, files, partial(_copy, connection, query))


def small_trailing_files(warehouse: ParquetWarehouse, table: str) -> list[str]:
    """The files written since the last large one: what a merge would take."""
    files = warehouse.manifest.files.get(table, [])
    trailing: list[str] = []
    for relative in reversed(files):
        if (warehouse.root / relative).stat().st_size >= SMALL_BYTES:
            break
        trailing.append(relative)
    return trailing[::-1]


def compact_if_many(warehouse: ParquetWarehouse, more_than: int = SMALL_FILES) -> list[str]:
    """Compact each table with more than `more_than` small files; the tables compacted.

    A rollup is folded whole; another table has its small files since its last large one
    merged.
    """
    done = []
    for table in list(warehouse.manifest.files):
        if table in ROLLUPS:
            files = warehouse.manifest.files[table]
        else:
            files = small_trailing_files(warehouse, table)
        if len(files) > more_than and compact(warehouse, table, files):
            done.append(table)
    return done


def rebuild_rollups(warehouse: ParquetWarehouse) -> None:
    """Replace every rollup with one computed from the facts as they stand now.

    The rollup files replaced and the facts read come from one manifest: a batch the worker
    appends meanwhile keeps its own rollup changes, and its facts are not read, so it is
    counted once. If a writer replaced those rollup files meanwhile, the table is redone.
    """
    for table in ROLLUPS:
        while True:
            with warehouse.writing() as snapshot:
                replaced = list(snapshot.files.get(table, []))
            with open_warehouse(warehouse.root, snapshot) as facts:
                write = partial(_copy, facts, rebuild_sql(table))
                if warehouse.replace(table, replaced, write):
                    break
