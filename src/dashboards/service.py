"""Dashboard reports as the API serves them: checked, cached five minutes, downloadable."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel
from redis.asyncio import Redis

from analytics.schema import ROLLUPS
from analytics.warehouse import Manifest, open_warehouse
from commerce import spreadsheet
from commerce.errors import InvalidInput
from dashboards.reports import report
from dashboards.schemas import Period, Report

CACHE_SECONDS = 300
#: What a report reads: the rollups, and product names.
READ = frozenset({*ROLLUPS, "dim_product"})
#: The longest range each period may span: enough points to chart, not a scan of years.
LONGEST = {Period.daily: 731, Period.weekly: 5 * 366, Period.monthly: 10 * 366}
#: Without `from`, a report goes this far back from `to`.
DEFAULT_SPAN = {Period.daily: 30, Period.weekly: 7 * 12, Period.monthly: 365}


def window(period: Period, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The days a report covers; refuses a reversed or too long range (422)."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_SPAN[period] - 1)
    if start > end:
        raise InvalidInput(f"from ({start}) is after to ({end}).", field="from")
    if (end - start).days + 1 > LONGEST[period]:
        raise InvalidInput(
            f"A {period.value} report spans at most {LONGEST[period]} days; "
            f"{start}..{end} is {(end - start).days + 1}.",
            field="from",
            longest_days=LONGEST[period],
        )
    return start, end


async def period_report(
    redis: Redis,
    root: Path,
    period: Period,
    start: date,
    end: date,
    currency: str | None,
) -> Report:
    """The report, from Redis if computed in the last five minutes."""
    key = f"dashboard:v1:{period.value}:{start}:{end}:{currency or '*'}"
    cached = await redis.get(key)
    if cached is not None:
        return Report.model_validate_json(cached)
    computed = await asyncio.to_thread(_compute, root, period, start, end, currency)
    await redis.set(key, computed.model_dump_json(), ex=CACHE_SECONDS)
    return computed


def _compute(root: Path, period: Period, start: date, end: date, currency: str | None) -> Report:
    manifest, snapshot = _snapshot(root)
    with snapshot.cursor() as warehouse:
        found = report(warehouse, period, start, end, currency)
    return found.model_copy(update={"as_of": manifest.as_of()})


_snapshots: dict[Path, tuple[Manifest, duckdb.DuckDBPyConnection]] = {}
_snapshots_lock = threading.Lock()


def _snapshot(root: Path) -> tuple[Manifest, duckdb.DuckDBPyConnection]:
    """The warehouse as of its latest manifest, opened once per manifest: making the views
    costs more than most reports. Each caller reads through a cursor of its own."""
    manifest = Manifest.load(root)
    with _snapshots_lock:
        held = _snapshots.get(root)
        if held is None or held[0].generation != manifest.generation:
            held = _snapshots[root] = (manifest, open_warehouse(root, manifest, tables=READ))
        return held


def table_rows(found: Report, table: str) -> list[BaseModel]:
    rows: list[BaseModel] = getattr(found, table)
    return rows


def csv_lines(rows: list[BaseModel], model: type[BaseModel]) -> Iterator[str]:
    """A table as CSV, a line at a time (the header even when there are no rows); cells a
    spreadsheet would run (a searched `=HYPERLINK(…)`) are escaped."""
    columns = list(model.model_fields)
    dumped = (row.model_dump(mode="json") for row in rows)
    return spreadsheet.csv_lines(columns, ([row[name] for name in columns] for row in dumped))


def parquet_bytes(rows: list[BaseModel], model: type[BaseModel]) -> bytes:
    columns = list(model.model_fields)
    dumped = [row.model_dump() for row in rows]
    table = pa.table({name: [row[name] for row in dumped] for name in columns})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
