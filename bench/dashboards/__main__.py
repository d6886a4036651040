"""bench/dashboards: the admin dashboards over 10M order lines.

    .venv/bin/python bench/dashboards [--lines 10000000] [--samples 50]

Writes two years of paid orders into PostgreSQL, fills the warehouse from it (as `storefront
etl backfill` does) and rebuilds the rollups, then prints:
  1. each dashboard endpoint's latency: what it computes on a cache miss (the report from
     the rollups, or the realtime counters) and a cache hit (Redis), p50/p95/p99;
     goal p95 < 50 ms uncached;
  2. each ad-hoc query behind the reports, the same SQL on DuckDB over the warehouse's
     Parquet and on PostgreSQL over the same rows in a table of that shape (indexed,
     analysed), median ms and the ratio; goal >= 10x.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import embedded_stack, machine, order_history, percentiles
from sqlalchemy import text

from analytics.compaction import rebuild_rollups
from analytics.warehouse import ParquetWarehouse, open_warehouse
from bootstrap.wiring import redis_client
from commerce.db import transaction
from commerce.identity.store import SessionStore
from dashboards import service
from dashboards.realtime import realtime
from dashboards.schemas import Period
from etl.extract import fill_orders

LAST = date(2025, 12, 31)
ENDPOINTS = {
    "daily, 30 days": (Period.daily, LAST - timedelta(days=29)),
    "daily, 2 years": (Period.daily, LAST - timedelta(days=730)),
    "weekly, 1 year": (Period.weekly, LAST - timedelta(days=364)),
    "monthly, 2 years": (Period.monthly, LAST - timedelta(days=730)),
}

#: The same rows PostgreSQL-side, in the warehouse's shape.
POSTGRES_FACTS = [
    "DROP TABLE IF EXISTS fact_order_lines",
    """
    CREATE TABLE fact_order_lines AS
    SELECT l.order_id::text AS order_id, l.id::text AS line_id,
           o.customer_id::text AS customer_id, l.product_id::text AS product_id, l.category,
           l.quantity, l.total, o.currency, round(l.total / o.rate, 2) AS total_usd,
           o.created_at AT TIME ZONE 'UTC' AS placed_at
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    """,
    "CREATE INDEX ON fact_order_lines (placed_at)",
    "CREATE INDEX ON fact_order_lines (customer_id, placed_at)",
    "ANALYZE fact_order_lines",
]

QUERIES = {
    "revenue per day and currency": """
        SELECT CAST(placed_at AS DATE) AS day, currency, sum(total) AS revenue,
               count(DISTINCT order_id) AS orders
        FROM fact_order_lines GROUP BY 1, 2 ORDER BY 1, 2""",
    "revenue per month in dollars": """
        SELECT date_trunc('month', placed_at) AS month, sum(total_usd) AS revenue
        FROM fact_order_lines GROUP BY 1 ORDER BY 1""",
    "top 20 products": """
        SELECT product_id, sum(quantity) AS units, sum(total_usd) AS revenue
        FROM fact_order_lines GROUP BY product_id ORDER BY revenue DESC, product_id LIMIT 20""",
    "revenue by category, last 90 days": """
        SELECT category, sum(total_usd) AS revenue FROM fact_order_lines
        WHERE placed_at >= TIMESTAMP '2025-10-02' GROUP BY category ORDER BY revenue DESC""",
    "distinct customers per week": """
        SELECT date_trunc('week', placed_at) AS week, count(DISTINCT customer_id) AS customers
        FROM fact_order_lines GROUP BY 1 ORDER BY 1""",
    "cohort retention by first month": """
        WITH firsts AS (
            SELECT customer_id, min(date_trunc('month', placed_at)) AS cohort
            FROM fact_order_lines GROUP BY customer_id
        ), active AS (
            SELECT DISTINCT customer_id, date_trunc('month', placed_at) AS month
            FROM fact_order_lines
        )
        SELECT f.cohort, a.month, count(*) AS customers
        FROM active a JOIN firsts f ON f.customer_id = a.customer_id
        GROUP BY 1, 2 ORDER BY 1, 2""",
}


async def timed(call: Callable[[], Awaitable[object]], samples: int) -> list[float]:
    spent = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def median_ms(run: Callable[[], object], times: int) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


async def main(lines: int, samples: int) -> None:
    print(f"bench/dashboards on {machine()}; {lines:,} order lines")
    async with embedded_stack() as bench:
        started = time.perf_counter()
        orders = await order_history(bench.sessions, lines)
        url = bench.settings.require("database_url")
        root = bench.settings.warehouse_dir
        warehouse = ParquetWarehouse(root)
        fill_orders(warehouse, url, date(2000, 1, 1), bench.root / "duckdb-extensions")
        rebuild_rollups(warehouse)
        print(
            f"{orders:,} orders in PostgreSQL and the warehouse after "
            f"{time.perf_counter() - started:.0f} s"
        )

        redis = redis_client(bench.settings)
        print("\n1. endpoints (uncached: computed from rollups; cached: Redis)")
        for name, (period, start) in ENDPOINTS.items():
            uncached = await timed(
                lambda p=period, s=start: asyncio.to_thread(
                    service._compute, root, p, s, LAST, None
                ),
                samples,
            )
            await service.period_report(redis, root, period, start, LAST, None)
            cached = await timed(
                lambda p=period, s=start: service.period_report(redis, root, p, s, LAST, None),
                samples,
            )
            print(f"  {name:<18} uncached {percentiles(uncached)}")
            print(f"  {'':<18} cached   {percentiles(cached)}")
        store = SessionStore(redis, 3600)

        async def realtime_now() -> object:
            async with bench.sessions() as session:
                return await realtime(session, redis, store, 5, datetime.now(UTC))

        print(f"  {'realtime':<18} uncached {percentiles(await timed(realtime_now, samples))}")
        await redis.aclose()

        print("\n2. ad-hoc queries: DuckDB over Parquet vs the same SQL on PostgreSQL (median)")
        async with transaction(bench.sessions) as session:
            for statement in POSTGRES_FACTS:
                await session.execute(text(statement))
        with open_warehouse(root) as duck:
            async with bench.sessions() as session:
                connection = await session.connection()
                raw = (await connection.get_raw_connection()).driver_connection
                for name, sql in QUERIES.items():
                    duck_ms = median_ms(lambda q=sql: duck.execute(q).fetchall(), 5)
                    started = time.perf_counter()
                    pg_ms = []
                    for _ in range(3):
                        started = time.perf_counter()
                        await (await raw.execute(sql)).fetchall()  # type: ignore[union-attr]
                        pg_ms.append((time.perf_counter() - started) * 1000)
                    postgres = statistics.median(pg_ms)
                    print(
                        f"  {name:<34} DuckDB {duck_ms:8.1f} ms · PostgreSQL {postgres:8.1f} ms"
                        f" · {postgres / duck_ms:5.1f}x"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.lines, arguments.samples))
