"""bench/etl: order history from PostgreSQL into the warehouse, as `storefront etl backfill`.

    .venv/bin/python bench/etl [--lines 10000000]

Writes `lines` order lines (4 an order, two years of paid orders) into PostgreSQL, then
fills an empty warehouse from it (`etl.extract.fill_orders`: DuckDB's postgres extension,
anti-joined against the warehouse, Parquet out) in a child process, and prints rows/s and
that process's peak RSS; the same into an empty DuckLake (`fill_orders_into_lake`); then the
rollup rebuild over the Parquet result. Goals (issue 14): >= 2M
rows/s, peak RSS < 500 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import embedded_stack, machine, order_history

from analytics.compaction import rebuild_rollups
from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.db import transaction

CHECKPOINT = """
INSERT INTO projection_checkpoints (consumer, seq) SELECT 'warehouse', coalesce(max(seq), 0)
FROM outbox ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq
"""


#: The ETL in a process of its own, so that its peak RSS is its own.
FILL = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
from analytics.warehouse import ParquetWarehouse
from etl.extract import fill_orders
root, url = Path(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
filled = fill_orders(ParquetWarehouse(root / "warehouse"), url, date(2000, 1, 1),
                     root / "duckdb-extensions")
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# The transport alone: the order lines table copied as it is, no join, no conversion.
import duckdb
from etl.extract import attach_postgres
with duckdb.connect() as connection:
    connection.execute("SET memory_limit = '256MB'; SET preserve_insertion_order = false")
    attach_postgres(connection, url, root / "duckdb-extensions")
    started = time.perf_counter()
    connection.execute(f"COPY (SELECT * FROM pg.public.order_lines) TO '{root}/raw.parquet' "
                       "(FORMAT parquet, COMPRESSION zstd)")
    raw = time.perf_counter() - started
print(json.dumps({"seconds": seconds, **vars(filled), "peak_mib": peak, "raw_seconds": raw}))
"""


#: The same into the warehouse on DuckLake (issue 31): its catalog in the same PostgreSQL.
FILL_LAKE = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
from analytics.lake import LakeLocation, LakeWarehouse
from commerce.db import libpq_url
from etl.extract import fill_orders_into_lake
root, url = Path(sys.argv[1]), sys.argv[2]
lake = LakeWarehouse(LakeLocation(libpq_url(url), root / "lake", root / "duckdb-extensions"))
started = time.perf_counter()
filled = fill_orders_into_lake(lake, url, date(2000, 1, 1))
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, **vars(filled), "peak_mib": peak}))
"""


def fill(root: Path, database_url: str, script: str = FILL) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, str(root), database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the ETL process failed:\n{done.stderr[-3000:]}")
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


async def main(lines: int) -> None:
    print(f"bench/etl on {machine()}; {lines:,} order lines")
    async with embedded_stack() as bench:
        started = time.perf_counter()
        orders = await order_history(bench.sessions, lines)
        async with transaction(bench.sessions) as session:
            from sqlalchemy import text

            await session.execute(text(CHECKPOINT))
        print(
            f"PostgreSQL: {orders:,} orders, {lines:,} lines written in "
            f"{time.perf_counter() - started:.0f} s"
        )

        filled = fill(bench.root, bench.settings.require("database_url"))
        seconds, peak = filled["seconds"], filled["peak_mib"]
        read = int(filled["orders_read"] + filled["lines"])
        written = int(filled["lines"] + filled["order_events"])
        print(f"extract + load: {seconds:.1f} s")
        print(
            f"  read from PostgreSQL: {read:,} rows ({int(filled['orders_read']):,} orders, "
            f"{int(filled['lines']):,} lines) = {read / seconds / 1e6:.2f}M rows/s (goal >= 2M)"
        )
        print(f"  written to Parquet: {written:,} rows = {written / seconds / 1e6:.2f}M rows/s")
        print(f"  peak RSS of the ETL process: {peak:.0f} MiB (goal < 500 MiB)")
        raw = filled["raw_seconds"]
        print(
            f"  for comparison, order_lines copied as it is (no join, no conversion): "
            f"{lines / raw / 1e6:.2f}M rows/s"
        )

        lake = fill(bench.root, bench.settings.require("database_url"), FILL_LAKE)
        read = int(lake["orders_read"] + lake["lines"])
        print(
            f"into DuckLake instead: {lake['seconds']:.1f} s, {read / lake['seconds'] / 1e6:.2f}M "
            f"rows/s read, peak RSS {lake['peak_mib']:.0f} MiB"
        )
        assert int(lake["lines"]) == lines, f"the lake took {int(lake['lines']):,} lines"

        warehouse = ParquetWarehouse(bench.root / "warehouse")
        started = time.perf_counter()
        rebuild_rollups(warehouse)
        print(
            f"rollups rebuilt from {written:,} fact rows in {time.perf_counter() - started:.1f} s"
        )
        with open_warehouse(warehouse.root) as check:
            (held,) = check.execute("SELECT count(*) FROM fact_order_lines").fetchone() or (0,)
        assert held == lines, f"warehouse holds {held:,} lines, PostgreSQL {lines:,}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    asyncio.run(main(parser.parse_args().lines))
