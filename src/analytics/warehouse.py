"""The warehouse: Parquet files per table, made visible only through an atomic manifest.

Writers publish a batch by writing its files under temporary names, renaming them into
place, then replacing `manifest.json` in one `os.replace`. Readers list only the files the
manifest names, so they never see half a batch and never take a lock a writer waits on.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.schema import TABLES

MANIFEST = "manifest.json"


@dataclass
class Manifest:
    generation: int = 0
    files: dict[str, list[str]] = field(default_factory=dict)
    #: Outbox seqs written whose processed record the writer has not seen confirmed: the
    #: last batch, and earlier ones not yet recorded (after a crash). Its idempotence record.
    unconfirmed_seqs: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> Manifest:
        try:
            raw = json.loads((root / MANIFEST).read_text())
        except FileNotFoundError:
            return cls()
        seqs = raw.get("unconfirmed_seqs", raw.get("last_batch_seqs", []))
        return cls(raw["generation"], raw["files"], seqs)


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
    """The single writer of a warehouse folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest.load(root)

    def append(self, rows: Mapping[str, Sequence[Mapping[str, Any]]], seqs: Sequence[int]) -> None:
        """Add one batch of rows to any tables, all visible at once or not at all."""
        files = {table: list(paths) for table, paths in self.manifest.files.items()}
        generation = self.manifest.generation + 1
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            relative = f"{table}/{generation:010d}-{uuid.uuid4().hex[:8]}.parquet"
            self._write_file(relative, pa.Table.from_pylist(list(table_rows), TABLES[table]))
            files.setdefault(table, []).append(relative)
        self._publish(Manifest(generation, files, sorted(seqs)))

    def _write_file(self, relative: str, table: pa.Table) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        pq.write_table(table, temporary, compression="zstd")
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.rename(temporary, target)
        _fsync_dir(target.parent)

    def _publish(self, manifest: Manifest) -> None:
        body = json.dumps(
            {
                "generation": manifest.generation,
                "files": manifest.files,
                "unconfirmed_seqs": manifest.unconfirmed_seqs,
            }
        ).encode()
        temporary = self.root / f".{MANIFEST}.{uuid.uuid4().hex}"
        _fsync_write(temporary, body)
        os.replace(temporary, self.root / MANIFEST)
        _fsync_dir(self.root)
        self.manifest = manifest


def open_warehouse(root: Path | str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per warehouse table, as of the latest manifest.

    Safe to call from any process at any time, while the writer runs (notebooks, dashboards).
    """
    root = Path(root)
    manifest = Manifest.load(root)
    connection = duckdb.connect(":memory:")
    for table, schema in TABLES.items():
        paths = [str(root / relative) for relative in manifest.files.get(table, [])]
        if paths:
            listed = ", ".join("'" + path.replace("'", "''") + "'" for path in paths)
            connection.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}], union_by_name=true)"
            )
        else:
            connection.register(f"_{table}_empty", schema.empty_table())
            connection.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
    return connection
