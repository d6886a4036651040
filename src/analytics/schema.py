"""Warehouse tables: Arrow schemas of the Parquet files. Timestamps are naive UTC (FACTS.md)."""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(14, 2)
RATE = pa.decimal128(20, 10)

#: Units and revenue of a product in a currency and category, in a day or a month.
SALES = [
    ("currency", pa.string()),
    ("category", pa.string()),
    ("product_id", pa.string()),
    ("units", pa.int64()),
    ("revenue", MONEY),
    ("revenue_usd", MONEY),
]

#: What the dashboards read: additive rows, summed by their key columns. The worker appends
#: each batch's changes; compaction and the nightly ETL fold them into one row per key.
#: Sales count on the day an order was placed, once it is paid; refunds on the day paid back.
ROLLUPS: dict[str, pa.Schema] = {
    "rollup_orders": pa.schema(
        [
            ("day", pa.date32()),
            ("currency", pa.string()),
            ("orders", pa.int64()),
            ("revenue", MONEY),
            ("revenue_usd", MONEY),
            ("discount", MONEY),
            ("units", pa.int64()),
            ("first_orders", pa.int64()),
            ("refunds", pa.int64()),
            ("refunded", MONEY),
            ("refunded_usd", MONEY),
        ]
    ),
    "rollup_sales": pa.schema([("day", pa.date32()), *SALES]),
    # The same by month (its first day): long ranges read a row per month, not per day.
    "rollup_sales_months": pa.schema([("month", pa.date32()), *SALES]),
    # Funnel stages by day: view, cart, checkout (client events), order (paid), search.
    "rollup_funnel": pa.schema(
        [("day", pa.date32()), ("stage", pa.string()), ("events", pa.int64())]
    ),
    "rollup_searches": pa.schema(
        [
            ("day", pa.date32()),
            ("query_key", pa.string()),
            ("searches", pa.int64()),
            ("zero_results", pa.int64()),
        ]
    ),
    # Paid orders per customer and month placed: cohorts by first month, new vs returning.
    "rollup_customer_months": pa.schema(
        [
            ("customer_id", pa.string()),
            ("month", pa.date32()),
            ("orders", pa.int64()),
            ("revenue_usd", MONEY),
        ]
    ),
    # Customers by the month of their first paid order (cohort) and each month they ordered
    # in: cohort retention without a scan of every customer.
    "rollup_cohorts": pa.schema(
        [("cohort", pa.date32()), ("month", pa.date32()), ("customers", pa.int64())]
    ),
}

#: The columns each rollup is summed by.
ROLLUP_KEYS: dict[str, tuple[str, ...]] = {
    "rollup_orders": ("day", "currency"),
    "rollup_sales": ("day", "currency", "category", "product_id"),
    "rollup_sales_months": ("month", "currency", "category", "product_id"),
    "rollup_funnel": ("day", "stage"),
    "rollup_searches": ("day", "query_key"),
    "rollup_customer_months": ("customer_id", "month"),
    "rollup_cohorts": ("cohort", "month"),
}

TABLES: dict[str, pa.Schema] = {
    "dim_product": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("product_id", pa.string()),
            ("version", pa.int64()),
            ("sku", pa.string()),
            ("name", pa.string()),
            ("brand", pa.string()),
            ("category", pa.string()),
            ("category_path", pa.string()),
            ("price", MONEY),
            ("currency", pa.string()),
            ("rating", pa.float64()),
            ("deleted", pa.bool_()),
            ("valid_from", pa.timestamp("us")),
        ]
    ),
    # One row per live variant per product version: a product's variants as of `valid_from`.
    "dim_product_variant": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("product_id", pa.string()),
            ("product_version", pa.int64()),
            ("variant_id", pa.string()),
            ("sku", pa.string()),
            ("options", pa.string()),
            ("price", MONEY),
            ("valid_from", pa.timestamp("us")),
        ]
    ),
    "fact_stock_movements": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("movement_id", pa.int64()),
            ("product_id", pa.string()),
            # Null for movements recorded before products had variants.
            ("variant_id", pa.string()),
            ("sku", pa.string()),
            ("warehouse", pa.string()),
            ("delta", pa.int32()),
            ("on_hand_after", pa.int32()),
            ("available_after", pa.int32()),
            ("reason", pa.string()),
            ("occurred_at", pa.timestamp("us")),
            # What the movement was (adjusted, reserved, released, committed, restocked,
            # returned), its change to reserved units, and the order behind it.
            ("movement", pa.string()),
            ("reserved_delta", pa.int32()),
            ("order_id", pa.string()),
        ]
    ),
    # One row per order event: created, confirmed, failed, expired, cancelled,
    # status_changed, returned; amounts in the order's currency.
    "fact_order_events": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("event", pa.string()),
            ("status", pa.string()),
            ("currency", pa.string()),
            ("total", MONEY),
            ("discount", MONEY),
            ("refund", MONEY),
            ("units", pa.int32()),
            ("coupon_code", pa.string()),
            ("occurred_at", pa.timestamp("us")),
            # order.created only: units of `currency` per dollar, and the total in dollars.
            ("rate", RATE),
            ("total_usd", MONEY),
        ]
    ),
    # One row per line of a placed order (order.created), as priced at checkout.
    "fact_order_lines": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("order_id", pa.string()),
            ("line_id", pa.string()),
            ("customer_id", pa.string()),
            ("product_id", pa.string()),
            ("variant_id", pa.string()),
            ("sku", pa.string()),
            ("category", pa.string()),
            ("quantity", pa.int32()),
            ("unit_price", MONEY),
            ("discount", MONEY),
            ("total", MONEY),
            ("currency", pa.string()),
            ("total_usd", MONEY),
            ("placed_at", pa.timestamp("us")),
        ]
    ),
    "fact_payments": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("payment_id", pa.string()),
            ("order_id", pa.string()),
            ("event", pa.string()),
            ("amount", MONEY),
            ("currency", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("occurred_at", pa.timestamp("us")),
            # The amount in dollars at the order's rate (null if the order was not found).
            ("amount_usd", MONEY),
        ]
    ),
    # One row per client event (POST /api/events): the top of the funnel.
    "fact_client_events": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("session_id", pa.string()),
            ("customer_id", pa.string()),
            ("event", pa.string()),
            ("product_id", pa.string()),
            ("query", pa.string()),
            ("position", pa.int32()),
            ("occurred_at", pa.timestamp("us")),
        ]
    ),
    # One row per search answered (search.performed); `query_key` is the query folded.
    "fact_searches": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("session_id", pa.string()),
            ("query", pa.string()),
            ("query_key", pa.string()),
            ("filters", pa.string()),
            ("sort", pa.string()),
            ("page", pa.int32()),
            ("results", pa.int32()),
            ("latency_ms", pa.float64()),
            ("occurred_at", pa.timestamp("us")),
        ]
    ),
    "dim_customer": pa.schema(
        [
            ("event_seq", pa.int64()),
            ("event_id", pa.string()),
            ("customer_id", pa.string()),
            ("role", pa.string()),
            ("registered_at", pa.timestamp("us")),
        ]
    ),
    # Reference rates by day (units per dollar), loaded by the nightly ETL.
    "dim_currency": pa.schema(
        [
            ("rate_date", pa.date32()),
            ("currency", pa.string()),
            ("per_usd", RATE),
            ("source", pa.string()),
        ]
    ),
    **ROLLUPS,
}
