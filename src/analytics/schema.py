"""Warehouse tables: Arrow schemas of the Parquet files. Timestamps are naive UTC (FACTS.md)."""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(14, 2)

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
}
