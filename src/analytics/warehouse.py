"""The warehouse: Parquet files per table, made visible only through an atomic manifest.

Writers publish a batch by writing its files under temporary names, renaming them into
place, then replacing `manifest.json` in one `os.replace`. Readers list only the files the
manifest names, so they never see half a batch and never take a lock a writer waits on.

Writers in several processes (the worker appending, the nightly ETL rebuilding) take turns
on an exclusive file lock and re-read the manifest under it, so none overwrites another's.
Compaction rewrites a table's files as one and publishes the swap the same way. The files
it replaced are deleted only `RETAIN_SECONDS` later, so a reader that listed them just
before (a notebook mid-query) still finds them: a snapshot stays readable that long.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.schema import TABLES

MANIFEST = "manifest.json"
LOCK = ".writer.lock"
RETAIN_SECONDS = 600.0


@dataclass
class Manifest:
    generation: int = 0
    files: dict[str, list[str]] = field(default_factory=dict)
    #: Outbox seqs written whose processed record the writer has not seen confirmed: the
    #: last batch, and earlier ones not yet recorded (after a crash). Its idempotence record.
    unconfirmed_seqs: list[int] = field(default_factory=list)
    #: When this generation was published (UTC, ISO 8601): the data's as-of time.
    published_at: str | None = None
    #: Files compaction replaced, with when (epoch seconds); deleted after RETAIN_SECONDS.
    retired: list[tuple[str, float]] = field(default_factory=list)
    #: What jobs recorded with the data they wrote (the ETL's watermarks and progress).
    marks: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Manifest:
        try:
            raw = json.loads((root / MANIFEST).read_text())
        except FileNotFoundError:
            return cls()
        seqs = raw.get("unconfirmed_seqs", raw.get("last_batch_seqs", []))
        retired = [(str(path), float(at)) for path, at in raw.get("retired", [])]
        return cls(
            raw["generation"],
            raw["files"],
            seqs,
            raw.get("published_at"),
            retired,
            raw.get("marks", {}),
        )

    def as_of(self) -> datetime | None:
        return datetime.fromisoformat(self.published_at) if self.published_at else None


def _fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetWarehouse:
    """A writer of a warehouse folder; writers in other processes wait their turn."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest.load(root)
        #: The thread taking its turn to write, if any: its nested writes need no second turn.
        self._holder: int | None = None

    @contextmanager
    def writing(self) -> Iterator[Manifest]:
        """This process's turn to write: the manifest as it stands, held until the block ends.

        Writes inside the block (append, replace) run in the same turn; other threads, like
        other processes, wait for it.
        """
        if self._holder == threading.get_ident():
            yield self.manifest
            return
        with (self.root / LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._holder = threading.get_ident()
            try:
                self.manifest = Manifest.load(self.root)
                yield self.manifest
            finally:
                self._holder = None
                fcntl.flock(lock, fcntl.LOCK_UN)

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
        with self.writing():
            files = {table: list(paths) for table, paths in self.manifest.files.items()}
            generation = self.manifest.generation + 1
            for table, table_rows in rows.items():
                if not table_rows:
                    continue
                relative = f"{table}/{generation:010d}-{uuid.uuid4().hex[:8]}.parquet"
                self._write_file(relative, pa.Table.from_pylist(list(table_rows), TABLES[table]))
                files.setdefault(table, []).append(relative)
            unconfirmed = None if seqs is None else sorted(seqs)
            self._publish(self._next(files, unconfirmed_seqs=unconfirmed, marks=marks))

    def replace(
        self,
        table: str,
        replaced: Sequence[str],
        write: Callable[[Path], None],
        marks: Mapping[str, str] | None = None,
    ) -> bool:
        """Swap `replaced` (files of `table`) for the one file `write(path)` writes, at once.

        The new file takes the place of the first replaced one, so a table's files stay in
        the order their rows were written; with nothing replaced it goes last. False (and
        nothing changed) if another writer replaced any of `replaced` meanwhile.
        """
        relative = f"{table}/{uuid.uuid4().hex}.parquet"
        target = self.root / relative
        temporary = self._written(target, write)
        with self.writing():
            current = self.manifest.files.get(table, [])
            gone = set(replaced)
            if not gone <= set(current):
                temporary.unlink()
                return False
            os.rename(temporary, target)
            _fsync_dir(target.parent)
            at = next((i for i, path in enumerate(current) if path in gone), len(current))
            kept = [path for path in current[:at] if path not in gone]
            kept += [relative] + [path for path in current[at:] if path not in gone]
            files = {**self.manifest.files, table: kept}
            now = time.time()
            retired = self.manifest.retired + [(path, now) for path in replaced]
            self._publish(self._next(files, retired=retired, marks=marks))
            self._delete_expired(now)
        return True

    def mark(self, marks: Mapping[str, str]) -> None:
        """Record job progress (watermarks) with no change to the data."""
        with self.writing():
            self._publish(self._next(dict(self.manifest.files), marks=marks))

    def _next(
        self,
        files: dict[str, list[str]],
        *,
        unconfirmed_seqs: list[int] | None = None,
        retired: list[tuple[str, float]] | None = None,
        marks: Mapping[str, str] | None = None,
    ) -> Manifest:
        current = self.manifest
        return Manifest(
            current.generation + 1,
            files,
            current.unconfirmed_seqs if unconfirmed_seqs is None else unconfirmed_seqs,
            datetime.now(UTC).isoformat(),
            current.retired if retired is None else retired,
            {**current.marks, **(marks or {})},
        )

    def _delete_expired(self, now: float) -> None:
        expired = [path for path, at in self.manifest.retired if now - at >= RETAIN_SECONDS]
        if not expired:
            return
        for path in expired:
            (self.root / path).unlink(missing_ok=True)
        left = [(path, at) for path, at in self.manifest.retired if path not in set(expired)]
        self._publish(self._next(dict(self.manifest.files), retired=left))

    def _write_file(self, relative: str, table: pa.Table) -> None:
        target = self.root / relative
        temporary = self._written(
            target, lambda path: pq.write_table(table, path, compression="zstd")
        )
        os.rename(temporary, target)
        _fsync_dir(target.parent)

    @staticmethod
    def _written(target: Path, write: Callable[[Path], None]) -> Path:
        """`write` a file beside `target` under a temporary name, on disk; its path."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        write(temporary)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        return temporary

    def _publish(self, manifest: Manifest) -> None:
        body = json.dumps(
            {
                "generation": manifest.generation,
                "files": manifest.files,
                "unconfirmed_seqs": manifest.unconfirmed_seqs,
                "published_at": manifest.published_at,
                "retired": manifest.retired,
                "marks": manifest.marks,
            }
        ).encode()
        temporary = self.root / f".{MANIFEST}.{uuid.uuid4().hex}"
        _fsync_write(temporary, body)
        os.replace(temporary, self.root / MANIFEST)
        _fsync_dir(self.root)
        self.manifest = manifest


def parquet_source(root: Path, files: Sequence[str]) -> str:
    """SQL reading these warehouse files (paths relative to `root`) as one table."""
    paths = ", ".join("'" + str(root / f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{paths}], union_by_name=true)"


#: The date dimension, generated rather than stored: every day the shop could report on.
DIM_DATE = """
CREATE VIEW dim_date AS
SELECT CAST(d AS DATE) AS day, year(d) AS year, quarter(d) AS quarter, month(d) AS month,
       CAST(date_trunc('month', d) AS DATE) AS month_start, isoyear(d) AS iso_year,
       week(d) AS iso_week, CAST(date_trunc('week', d) AS DATE) AS week_start,
       isodow(d) AS iso_weekday, dayname(d) AS weekday_name, isodow(d) >= 6 AS weekend
FROM range(DATE '2000-01-01', DATE '2100-01-01', INTERVAL 1 DAY) AS days(d)
"""


def open_warehouse(
    root: Path | str,
    manifest: Manifest | None = None,
    database: str = ":memory:",
    tables: Collection[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per warehouse table, as of the latest manifest
    (or of `manifest`, a snapshot a writer holds). With `database` a file path, the views
    are written there, for another DuckDB (the CLI) to open. `tables`: only these (a view
    reads its files' metadata when made).

    Safe to call from any process at any time, while writers run (notebooks, dashboards).
    """
    root = Path(root)
    manifest = manifest or Manifest.load(root)
    connection = duckdb.connect(database)
    for table, schema in TABLES.items():
        if tables is not None and table not in tables:
            continue
        files = manifest.files.get(table, [])
        if files:
            connection.execute(
                f"CREATE VIEW {table} AS SELECT * FROM {parquet_source(root, files)}"
            )
        else:
            connection.register(f"_{table}_empty", schema.empty_table())
            connection.execute(f"CREATE TABLE {table} AS SELECT * FROM _{table}_empty")
            connection.unregister(f"_{table}_empty")
    connection.execute(DIM_DATE)
    return connection
