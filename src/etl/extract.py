"""Order facts the warehouse lacks, filled in from PostgreSQL (`storefront etl backfill`).

The worker streams facts from events; PostgreSQL keeps the orders themselves. For orders
placed since a day, this reads every order line and the order's placing and payment
(DuckDB's postgres extension: a parallel binary COPY, millions of rows a second) and appends
the rows the warehouse does not hold, keyed by line and by order and event. Rows streamed
stay as they are, so running it twice, or after a crash, adds nothing more.

An order whose event the worker has not written yet is left to the worker: its event is
still in the outbox past the warehouse's checkpoint. That set is read after the extract, so
it holds every such event committed before the extract read the order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from analytics import lake
from analytics.extensions import load_postgres, quoted
from analytics.lake import LakeWarehouse
from analytics.schema import TABLES
from analytics.warehouse import ParquetWarehouse, parquet_source
from commerce.db import libpq_url

#: DuckDB's working memory while it extracts; it spills to disk past this.
MEMORY_LIMIT = "384MB"

#: `total / rate` in dollars to the cent, rounded half up, in exact integer arithmetic
#: (DuckDB divides decimals as doubles): cents * 10^10 / (rate * 10^10).
IN_DOLLARS = """
CREATE MACRO in_dollars(amount, rate) AS CAST(
    (2 * CAST(amount * 100 AS HUGEINT) * 10000000000 + CAST(rate * 10000000000 AS HUGEINT))
    // (2 * CAST(rate * 10000000000 AS HUGEINT)) AS DECIMAL(14, 0)
) / 100
"""

#: Orders placed since `$since`, as views over PostgreSQL: each fact streams from them
#: into its Parquet file, nothing is held in memory but the join's hash tables.
VIEWS = """
CREATE TEMP VIEW placed AS
SELECT o.id::VARCHAR AS order_id, o.customer_id::VARCHAR AS customer_id, o.currency,
       o.rate, o.total, o.discount, o.coupon_code,
       timezone('UTC', o.created_at) AS placed_at, timezone('UTC', o.paid_at) AS paid_at
FROM pg.public.orders o WHERE o.created_at >= TIMESTAMPTZ '{since}';

CREATE TEMP VIEW lines AS
SELECT NULL::BIGINT AS event_seq, NULL::VARCHAR AS event_id, p.order_id,
       l.id::VARCHAR AS line_id, p.customer_id, l.product_id::VARCHAR AS product_id,
       l.variant_id::VARCHAR AS variant_id, l.sku, l.category, l.quantity, l.unit_price,
       l.discount, l.total, p.currency, in_dollars(l.total, p.rate) AS total_usd,
       p.placed_at
FROM pg.public.order_lines l JOIN placed p ON p.order_id = l.order_id::VARCHAR;

CREATE TEMP VIEW order_events AS
WITH units AS (
    SELECT order_id::VARCHAR AS order_id, sum(quantity) AS units
    FROM pg.public.order_lines GROUP BY order_id
)
SELECT NULL::BIGINT AS event_seq, NULL::VARCHAR AS event_id, order_id, customer_id,
       'created' AS event, 'PENDING' AS status, currency, total, discount, 0.00 AS refund,
       units, coupon_code, placed_at AS occurred_at, rate, in_dollars(total, rate) AS total_usd
FROM placed JOIN units USING (order_id)
UNION ALL
SELECT NULL, NULL, order_id, customer_id, 'confirmed', 'CONFIRMED', currency, total,
       discount, 0.00, NULL, NULL, paid_at, NULL, NULL
FROM placed WHERE paid_at IS NOT NULL;
"""

#: Events past the warehouse's checkpoint and not in its manifest: the worker writes those.
PENDING = """
SELECT key AS order_id, event->>'type' AS type, seq
FROM outbox WHERE seq > {after} AND event->>'type' IN ('order.created', 'order.confirmed')
"""


@dataclass(frozen=True)
class Fact:
    """A fact filled in: the view it comes from, its key, the order event behind a row, and
    its time column (rows the warehouse holds from before `since` need no comparing)."""

    view: str
    key: str
    event: str
    at: str


FACTS = {
    "fact_order_lines": Fact("lines", "line_id", "'created'", "placed_at"),
    "fact_order_events": Fact("order_events", "order_id, event", "x.event", "occurred_at"),
}


@dataclass(frozen=True)
class Filled:
    orders_read: int
    lines: int
    order_events: int


def attach_postgres(
    connection: duckdb.DuckDBPyConnection, database_url: str, extensions: Path
) -> None:
    """Attach PostgreSQL read-only as `pg`, loading the extension from its PyPI wheel."""
    load_postgres(connection, extensions)
    connection.execute(
        f"ATTACH '{quoted(libpq_url(database_url))}' AS pg (TYPE postgres, READ_ONLY)"
    )


def fill_orders(
    warehouse: ParquetWarehouse,
    database_url: str,
    since: date,
    extensions: Path,
    consumer: str = "warehouse",
) -> Filled:
    """Append the order lines and order events (placed, paid) of orders placed on or after
    `since` that the warehouse lacks; `consumer` is the worker's warehouse writer.

    The worker's writes wait while this runs (one turn of the warehouse's lock).
    """
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        # Past the limit, joins spill to disk here rather than fail.
        connection.execute(f"SET temp_directory = '{quoted(extensions.parent / 'duckdb-spill')}'")
        # Rows in any order: the copy runs on every core and streams.
        connection.execute("SET preserve_insertion_order = false")
        connection.execute(IN_DOLLARS)
        attach_postgres(connection, database_url, extensions)
        connection.execute(VIEWS.format(since=since.isoformat()))
        (orders_read,) = connection.execute("SELECT count(*) FROM placed").fetchone() or (0,)
        after = _checkpoint(connection, consumer)
        with warehouse.writing() as manifest:
            applied = set(manifest.unconfirmed_seqs)
            _pending_table(connection, _pending(connection, after, applied))
            written = {
                table: _fill(connection, warehouse, table, since, after, applied) for table in FACTS
            }
    return Filled(int(orders_read), written["fact_order_lines"], written["fact_order_events"])


def _fill(
    connection: duckdb.DuckDBPyConnection,
    warehouse: ParquetWarehouse,
    table: str,
    since: date,
    after: int,
    applied: set[int],
) -> int:
    """Copy the rows of `table` the warehouse lacks into a file of it; how many.

    Events committed while the copy read PostgreSQL are found after it: rows of theirs
    are taken out again (the worker writes them).
    """
    fact = FACTS[table]
    files = warehouse.manifest.files.get(table, [])
    # A streamed row's time is its event's, a moment from the order's own: a day's margin.
    held = (
        f"SELECT {fact.key} FROM {parquet_source(warehouse.root, files)} "
        f"WHERE {fact.at} >= TIMESTAMP '{since - timedelta(days=1)}'"
        if files
        else f"SELECT {fact.key} FROM {fact.view} WHERE false"
    )
    columns = ", ".join(f"x.{name}" for name in TABLES[table].names)
    missing = f"""
        SELECT {columns} FROM {fact.view} x
        ANTI JOIN ({held}) held USING ({fact.key})
        ANTI JOIN pending ON pending.order_id = x.order_id AND pending.event = {fact.event}
    """
    target = warehouse.root / table / f".fill-{uuid.uuid4().hex}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        count = _copy(connection, missing, target)
        late = [
            p for p in _pending(connection, after, applied) if p not in _pending_rows(connection)
        ]
        if count and late:
            _pending_table(connection, late)
            count = _copy(
                connection,
                f"SELECT * FROM read_parquet('{quoted(target)}') x "
                f"ANTI JOIN pending ON pending.order_id = x.order_id "
                f"AND pending.event = {fact.event}",
                target.with_suffix(".late"),
            )
            target.with_suffix(".late").replace(target)
        if count:

            def move(path: Path) -> None:
                target.replace(path)

            warehouse.replace(table, [], move)
        return count
    finally:
        target.unlink(missing_ok=True)


def _copy(connection: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    copied = connection.execute(
        f"COPY ({query}) TO '{quoted(target)}' (FORMAT parquet, COMPRESSION zstd)"
    ).fetchone()
    return int(copied[0]) if copied else 0


def _checkpoint(connection: duckdb.DuckDBPyConnection, consumer: str) -> int:
    found = connection.execute(
        "SELECT seq FROM pg.public.projection_checkpoints WHERE consumer = ?", [consumer]
    ).fetchone()
    return int(found[0]) if found else 0


def _pending(
    connection: duckdb.DuckDBPyConnection, after: int, applied: set[int]
) -> list[tuple[str, str]]:
    query = PENDING.format(after=after)
    found = connection.execute(f"SELECT * FROM postgres_query('pg', $${query}$$)").fetchall()
    return [
        (order_id, kind.removeprefix("order."))
        for order_id, kind, seq in found
        if seq not in applied
    ]


def _pending_rows(connection: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {(o, e) for o, e in connection.execute("SELECT order_id, event FROM pending").fetchall()}


def _pending_table(connection: duckdb.DuckDBPyConnection, pending: list[tuple[str, str]]) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS pending (order_id VARCHAR, event VARCHAR)")
    if pending:
        connection.executemany("INSERT INTO pending VALUES (?, ?)", pending)


def fill_orders_into_lake(
    warehouse: LakeWarehouse,
    database_url: str,
    since: date,
    consumer: str = "warehouse",
) -> Filled:
    """`fill_orders` into the warehouse on DuckLake, streamed from PostgreSQL into the lake's
    files in one transaction. If an order event committed while it read, that transaction is
    rolled back and run again leaving those orders to the worker. Appends of the worker's
    meanwhile stay its own."""
    location = warehouse.location
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        spill = location.extensions.parent / "duckdb-spill"
        connection.execute(f"SET temp_directory = '{quoted(spill)}'")
        connection.execute("SET preserve_insertion_order = false")
        connection.execute(IN_DOLLARS)
        attach_postgres(connection, database_url, location.extensions)
        lake.attach(connection, location, use=False)
        connection.execute(VIEWS.format(since=since.isoformat()))
        (orders_read,) = connection.execute("SELECT count(*) FROM placed").fetchone() or (0,)
        after = _checkpoint(connection, consumer)
        applied = set(warehouse.state().unconfirmed_seqs)
        _pending_table(connection, _pending(connection, after, applied))
        while True:
            connection.execute("BEGIN")
            counts = [_append_missing(connection, table, since) for table in FACTS]
            known = _pending_rows(connection)
            late = [p for p in _pending(connection, after, applied) if p not in known]
            if not late:
                connection.execute("COMMIT")
                return Filled(int(orders_read), *counts)
            connection.execute("ROLLBACK")
            _pending_table(connection, late)


def _append_missing(connection: duckdb.DuckDBPyConnection, table: str, since: date) -> int:
    """Append the rows of `table` the lake lacks, but for pending orders' rows; how many."""
    fact = FACTS[table]
    columns = ", ".join(f"x.{name}" for name in TABLES[table].names)
    # A streamed row's time is its event's, a moment from the order's own: a day's margin.
    found = connection.execute(f"""
        INSERT INTO {lake.NAME}.{table} SELECT {columns} FROM {fact.view} x
        ANTI JOIN (
            SELECT {fact.key} FROM {lake.NAME}.{table}
            WHERE {fact.at} >= TIMESTAMP '{since - timedelta(days=1)}'
        ) held USING ({fact.key})
        ANTI JOIN pending ON pending.order_id = x.order_id AND pending.event = {fact.event}
    """).fetchone()
    return int(found[0]) if found else 0
