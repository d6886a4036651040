"""DuckDB extensions from their PyPI wheels, loaded offline: postgres (reading PostgreSQL, and
DuckLake's catalog there) and ducklake (the warehouse's format)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import duckdb_extension_ducklake
import duckdb_extension_postgres


def quoted(value: object) -> str:
    """A value inside a single-quoted SQL literal."""
    return str(value).replace("'", "''")


def load_postgres(connection: duckdb.DuckDBPyConnection, extensions: Path) -> None:
    """Load the postgres extension; `extensions` is a folder of ours DuckDB looks in."""
    _install(extensions, duckdb_extension_postgres.__file__, "postgres", "postgres_scanner")
    connection.execute(f"SET extension_directory = '{quoted(extensions)}'")
    connection.execute("LOAD postgres")


def load_ducklake(connection: duckdb.DuckDBPyConnection, extensions: Path) -> None:
    """Load ducklake, and postgres, where its catalog lives."""
    load_postgres(connection, extensions)
    _install(extensions, duckdb_extension_ducklake.__file__, "ducklake", "ducklake")
    connection.execute("LOAD ducklake")


def _install(extensions: Path, package: str, shipped_name: str, name: str) -> None:
    """The wheel ships the extension under its short name; DuckDB looks for its full name."""
    version = duckdb.__version__
    shipped = Path(package).parent / "extensions" / f"v{version}"
    target = extensions / f"v{version}" / _platform() / f"{name}.duckdb_extension"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(shipped / f"{shipped_name}.duckdb_extension")
        temporary.replace(target)


def _platform() -> str:
    with duckdb.connect() as connection:
        (platform,) = connection.execute("SELECT platform FROM pragma_platform()").fetchone() or (
            "",
        )
    return str(platform)
