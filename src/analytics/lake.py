"""The warehouse on DuckLake: its catalog in PostgreSQL, its data Parquet files in a folder.

DuckLake (DuckDB's lakehouse format) keeps, as a maintained format, what the Parquet warehouse
and its manifest did by hand: a batch is one transaction, visible whole or not at all;
readers see a snapshot and never block a writer; writers in several processes commit side by
side; a stock DuckDB anywhere can `ATTACH 'ducklake:postgres:…'` the live warehouse.

What a writer must remember with its data lives in the same transaction: the outbox seqs of
the stream's last batches (its idempotence record) and the jobs' marks (watermarks), in two
small tables whose rows DuckLake keeps inside the catalog rather than as files.

Readers list a snapshot's files once, in one catalog query, and read them as plain Parquet:
through the attached catalog DuckLake asks PostgreSQL again on every query, which made a
dashboard report 4-6x slower (bench/ducklake).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from analytics.extensions import load_ducklake, quoted
from analytics.rollups import fold_sql, rebuild_sql
from analytics.schema import ROLLUPS, TABLES
from analytics.warehouse import Manifest, open_warehouse

#: The PostgreSQL schema that holds the catalog's tables.
CATALOG_SCHEMA = "warehouse_lake"
NAME = "lake"
METADATA = f"__ducklake_metadata_{NAME}.{CATALOG_SCHEMA}"
MARKS = "warehouse_marks"
UNCONFIRMED = "warehouse_unconfirmed"
#: The bookkeeping tables' rows stay in the catalog (no file per batch); data never does, so
#: a snapshot's data is exactly its files.
BOOKKEEPING_INLINED_ROWS = 100_000
#: A rollup folded to one row per key past this many files (its rows are changes to sum).
FOLD_AFTER_FILES = 64
#: How long a snapshot a reader listed stays readable after newer ones replace its files.
RETAIN_SECONDS = 600.0
#: How often a writer tries again when another process committed a conflicting change.
CONFLICT_RETRIES = 5


@dataclass(frozen=True)
class LakeLocation:
    """Where a warehouse lives: `catalog`, a libpq connection string to the PostgreSQL that
    holds the catalog; `data`, the folder of its Parquet files; `extensions`, a folder of
    ours where DuckDB finds the extensions it loads from their wheels."""

    catalog: str
    data: Path
    extensions: Path


@dataclass(frozen=True)
class LakeState:
    """What the latest snapshot records beside the data."""

    snapshot: int
    as_of: datetime
    unconfirmed_seqs: list[int] = field(default_factory=list)
    marks: dict[str, str] = field(default_factory=dict)


def connect(location: LakeLocation, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse attached as `lake` and in use."""
    connection = duckdb.connect()
    attach(connection, location, read_only=read_only)
    return connection


def attach(
    connection: duckdb.DuckDBPyConnection,
    location: LakeLocation,
    *,
    read_only: bool = False,
    use: bool = True,
) -> None:
    """Attach the warehouse to `connection` as `lake` (in use, unless `use` is False)."""
    load_ducklake(connection, location.extensions)
    options = [
        f"DATA_PATH '{quoted(location.data)}'",
        f"METADATA_SCHEMA '{CATALOG_SCHEMA}'",
        "DATA_INLINING_ROW_LIMIT 0",
        *(["READ_ONLY"] if read_only else []),
    ]
    connection.execute(
        f"ATTACH 'ducklake:postgres:{quoted(location.catalog)}' AS {NAME} ({', '.join(options)})"
    )
    if use:
        connection.execute(f"USE {NAME}")


class LakeWarehouse:
    """A writer of the warehouse. Writers in other processes commit beside it: appends to the
    same table do not conflict, and a transaction that does is tried again."""

    def __init__(self, location: LakeLocation) -> None:
        self.location = location
        location.data.mkdir(parents=True, exist_ok=True)
        self._connection = connect(location)
        self._lock = threading.Lock()
        self._retrying(self._create_tables)

    def append(
        self,
        rows: Mapping[str, Sequence[Mapping[str, Any]]],
        seqs: Sequence[int] | None,
        marks: Mapping[str, str] | None = None,
    ) -> None:
        """Add one batch of rows to any tables, all visible at once or not at all.

        `seqs`: the outbox seqs the batch holds (the stream's record; None: not from the
        stream, the record stays as it is). `marks`: job progress published with the rows.
        """
        tables = {
            table: pa.Table.from_pylist(list(table_rows), TABLES[table])
            for table, table_rows in rows.items()
            if table_rows
        }
        self.append_tables(tables, seqs, marks)

    def append_tables(
        self,
        tables: Mapping[str, pa.Table],
        seqs: Sequence[int] | None,
        marks: Mapping[str, str] | None = None,
    ) -> None:
        """`append` for rows already in Arrow tables of the warehouse's schemas."""

        def write(db: duckdb.DuckDBPyConnection) -> None:
            for table, data in tables.items():
                _insert(db, table, data)
            if seqs is not None:
                db.execute(f"DELETE FROM {UNCONFIRMED}")
                db.execute(f"INSERT INTO {UNCONFIRMED} SELECT unnest(?::BIGINT[])", [sorted(seqs)])
            _set_marks(db, marks or {})

        self._retrying(lambda: self._in_transaction(write))

    def mark(self, marks: Mapping[str, str]) -> None:
        """Record job progress (watermarks) with no change to the data."""
        self._retrying(lambda: self._in_transaction(lambda db: _set_marks(db, marks)))

    def replace(self, table: str, query: str) -> None:
        """Replace the rows of `table` with what `query` reads, in one transaction.

        Rows deleted, not the table dropped and made again: DuckLake refuses a delete from a
        table another writer appended to meanwhile, and `replace` then runs again, reading
        that writer's rows too. A dropped table's replacement committed over them (DuckLake
        1.5.5)."""

        def swap(db: duckdb.DuckDBPyConnection) -> None:
            db.execute(f"CREATE OR REPLACE TEMP TABLE _replacing AS {query}")
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT INTO {table} SELECT * FROM _replacing")
            db.execute("DROP TABLE _replacing")

        self._retrying(lambda: self._in_transaction(swap))

    def files_of(self, table: str) -> list[str]:
        """The data files of `table` in the latest snapshot."""
        with self._lock:
            listed = self._connection.execute(
                f"SELECT data_file FROM ducklake_list_files('{NAME}', ?)", [table]
            ).fetchall()
        return [path for (path,) in listed]

    def state(self) -> LakeState:
        with self._lock:
            return read_state(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _create_tables(self) -> None:
        def create(db: duckdb.DuckDBPyConnection) -> None:
            for table, schema in TABLES.items():
                db.register("_empty", schema.empty_table())
                db.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _empty")
                db.unregister("_empty")
            db.execute(f"CREATE TABLE IF NOT EXISTS {MARKS} (name VARCHAR, value VARCHAR)")
            db.execute(f"CREATE TABLE IF NOT EXISTS {UNCONFIRMED} (seq BIGINT)")

        self._in_transaction(create)
        with self._lock:
            for table in (MARKS, UNCONFIRMED):
                self._connection.execute(
                    f"CALL {NAME}.set_option('data_inlining_row_limit', "
                    f"{BOOKKEEPING_INLINED_ROWS}, table_name => '{table}')"
                )

    def _in_transaction(self, work: Callable[[duckdb.DuckDBPyConnection], object]) -> None:
        with self._lock:
            db = self._connection
            db.execute("BEGIN")
            try:
                work(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _retrying(attempt: Callable[[], None]) -> None:
        for tries_left in range(CONFLICT_RETRIES, -1, -1):
            try:
                attempt()
                return
            except duckdb.TransactionException:
                if not tries_left:
                    raise


def _insert(db: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    db.register("_batch", data)
    try:
        db.execute(f"INSERT INTO {table} SELECT * FROM _batch")
    finally:
        db.unregister("_batch")


def _set_marks(db: duckdb.DuckDBPyConnection, marks: Mapping[str, str]) -> None:
    if not marks:
        return
    names, values = list(marks), [marks[name] for name in marks]
    db.execute(f"DELETE FROM {MARKS} WHERE name = ANY(?::VARCHAR[])", [names])
    db.execute(
        f"INSERT INTO {MARKS} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])", [names, values]
    )


def read_state(db: duckdb.DuckDBPyConnection) -> LakeState:
    """The latest snapshot's bookkeeping, through a connection from `connect`."""
    snapshot, at = db.execute(
        f"SELECT snapshot_id, snapshot_time FROM {NAME}.snapshots() "
        "ORDER BY snapshot_id DESC LIMIT 1"
    ).fetchone() or (0, datetime.now(UTC))
    seqs = [seq for (seq,) in db.execute(f"SELECT seq FROM {UNCONFIRMED} ORDER BY seq").fetchall()]
    marks = dict(db.execute(f"SELECT name, value FROM {MARKS}").fetchall())
    return LakeState(int(snapshot), at.astimezone(UTC), seqs, marks)


#: Each live data file of a snapshot (the parameter), with the paths that make it absolute.
SNAPSHOT_FILES = f"""
SELECT t.table_name, s.path, s.path_is_relative, t.path, t.path_is_relative,
       f.path, f.path_is_relative,
       EXISTS (SELECT 1 FROM {METADATA}.ducklake_delete_file d
               WHERE d.table_id = t.table_id AND $1 >= d.begin_snapshot
                 AND (d.end_snapshot IS NULL OR $1 < d.end_snapshot)) AS has_deletes
FROM {METADATA}.ducklake_table t
JOIN {METADATA}.ducklake_schema s USING (schema_id)
JOIN {METADATA}.ducklake_data_file f ON f.table_id = t.table_id
WHERE $1 >= t.begin_snapshot AND (t.end_snapshot IS NULL OR $1 < t.end_snapshot)
  AND $1 >= s.begin_snapshot AND (s.end_snapshot IS NULL OR $1 < s.end_snapshot)
  AND $1 >= f.begin_snapshot AND (f.end_snapshot IS NULL OR $1 < f.end_snapshot)
ORDER BY t.table_name, f.data_file_id
"""


def snapshot_files(db: duckdb.DuckDBPyConnection, data: Path) -> tuple[int, dict[str, list[str]]]:
    """The latest snapshot's id and each table's data files, absolute, in the order written.

    A table with deleted rows cannot be read from its files alone; the warehouse's own
    writers never delete rows of a data table (they append, and rebuild by replacing)."""
    (snapshot,) = db.execute(
        f"SELECT max(snapshot_id) FROM {METADATA}.ducklake_snapshot"
    ).fetchone() or (0,)
    files: dict[str, list[str]] = {}
    for table, *paths, has_deletes in db.execute(SNAPSHOT_FILES, [snapshot]).fetchall():
        if has_deletes:
            raise ValueError(f"{table} has deleted rows: read it through the attached warehouse")
        files.setdefault(table, []).append(str(_absolute(data, *paths)))
    return int(snapshot), files


def _absolute(
    data: Path,
    schema: str,
    schema_relative: bool,
    table: str,
    table_relative: bool,
    file: str,
    file_relative: bool,
) -> Path:
    if not file_relative:
        return Path(file)
    base = Path(table) if not table_relative else None
    if base is None:
        base = (data / schema if schema_relative else Path(schema)) / table
    return base / file


def open_snapshot(
    db: duckdb.DuckDBPyConnection, data: Path, *, tables: Sequence[str] | None = None
) -> tuple[int, duckdb.DuckDBPyConnection]:
    """The latest snapshot as plain Parquet views in a connection of its own (and its id):
    queries on it never reach the catalog, and later commits never change what it shows."""
    snapshot, files = snapshot_files(db, data)
    return snapshot, open_warehouse("/", Manifest(files=files), tables=tables)


def migrate(root: Path, warehouse: LakeWarehouse) -> dict[str, int]:
    """Copy a Parquet warehouse folder (its latest manifest) into an empty DuckLake, in one
    transaction: every row, the stream's unconfirmed seqs and the jobs' marks. Rows copied
    per table; nothing when the lake already holds data (the copy ran before)."""
    manifest = Manifest.load(root)
    copied: dict[str, int] = {}

    def copy(db: duckdb.DuckDBPyConnection) -> None:
        held = sum(
            int((db.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0])
            for table in TABLES
        )
        if held:
            return
        with open_warehouse(root, manifest) as parquet:
            for table in TABLES:
                data = parquet.execute(f"SELECT * FROM {table}").fetch_arrow_table()
                _insert(db, table, data.cast(TABLES[table]))
                copied[table] = data.num_rows
        db.execute(f"DELETE FROM {UNCONFIRMED}")
        db.execute(
            f"INSERT INTO {UNCONFIRMED} SELECT unnest(?::BIGINT[])", [manifest.unconfirmed_seqs]
        )
        _set_marks(db, manifest.marks)

    warehouse._retrying(lambda: warehouse._in_transaction(copy))
    return copied


def rebuild_rollups(warehouse: LakeWarehouse) -> None:
    """Replace every rollup with one computed from the facts as they stand, each in one
    transaction. A batch the worker commits meanwhile appends to the rollup being replaced,
    so DuckLake refuses the replace, which is then redone with that batch's facts: every
    fact is counted once."""
    for table in ROLLUPS:
        warehouse.replace(table, rebuild_sql(table))


def fold_rollups(warehouse: LakeWarehouse, more_than: int = FOLD_AFTER_FILES) -> list[str]:
    """Fold each rollup of more than `more_than` files to one row per key; those folded."""
    many = [table for table in ROLLUPS if len(warehouse.files_of(table)) > more_than]
    for table in many:
        warehouse.replace(table, fold_sql(table, table))
    return many


def expire(warehouse: LakeWarehouse, older_than_seconds: float = RETAIN_SECONDS) -> None:
    """Merge small data files, forget snapshots older than `older_than_seconds` and delete
    the files only they held: a snapshot a reader listed stays readable that long."""
    with warehouse._lock:
        db = warehouse._connection
        db.execute(f"CALL ducklake_merge_adjacent_files('{NAME}')")
        older = f"now() - to_seconds({float(older_than_seconds)})"
        db.execute(f"CALL ducklake_expire_snapshots('{NAME}', older_than => {older})")
        db.execute(f"CALL ducklake_cleanup_old_files('{NAME}', older_than => {older})")
