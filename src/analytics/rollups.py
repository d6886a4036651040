"""The rollups the dashboards read, kept two ways that must agree.

As events stream, `rollup_rows` turns each batch into additive rows (the batch's change to
each key); the nightly ETL rebuilds them whole from the facts with `REBUILD`. Either way a
reader sums by the keys (`analytics.schema.ROLLUP_KEYS`) and never scans a raw fact.

What counts: an order counts as sold on the UTC day it was placed, once its payment
succeeds (order.confirmed), in its own currency and in dollars at its own rate. A refund
counts on the day it was paid back. A customer's first paid order makes them new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from analytics.rows import (
    SEARCH_EVENTS,
    EventRecord,
    Rows,
    SoldOrder,
    in_dollars,
    naive_utc,
    query_key,
    search_day,
    searches_of,
    warehouse_rows,
)
from analytics.schema import ROLLUP_KEYS, ROLLUPS

#: Client events by funnel stage; paid orders are the `order` stage.
STAGES = {
    "activity.product_viewed": "view",
    "activity.cart_viewed": "cart",
    "activity.checkout_started": "checkout",
    "activity.search_result_clicked": "click",
}


def orders_to_look_up(events: Iterable[EventRecord]) -> list[str]:
    """Orders whose placed state a batch needs: those paid, and those refunded."""
    wanted = [
        str(e.payload["order_id"])
        for e in events
        if e.type in ("order.confirmed", "payment.refunded")
    ]
    return list(dict.fromkeys(wanted))


def rollup_rows(events: Iterable[EventRecord], orders: Mapping[str, SoldOrder]) -> Rows:
    """A batch's change to every rollup; an order not in `orders` is not counted."""
    rows: Rows = {table: [] for table in ROLLUPS}
    funnel: Counter[tuple[date, str]] = Counter()
    for event in events:
        day = naive_utc(event.occurred_at).date()
        if event.type == "order.confirmed":
            order = orders.get(str(event.payload["order_id"]))
            if order is not None:
                _sold(rows, order)
                funnel[(naive_utc(order.placed_at).date(), "order")] += 1
        elif event.type == "payment.refunded":
            _refunded(rows, event, day, orders.get(str(event.payload["order_id"])))
        elif event.type in STAGES:
            funnel[(day, STAGES[event.type])] += 1
        elif event.type in SEARCH_EVENTS:
            _searched(rows, funnel, event)
    rows["rollup_funnel"] = [
        {"day": day, "stage": stage, "events": n} for (day, stage), n in funnel.items()
    ]
    return rows


def _searched(rows: Rows, funnel: Counter[tuple[date, str]], event: EventRecord) -> None:
    """First pages count as searches (a second page is the same search, read further)."""
    for search in searches_of(event):
        if int(search["page"]) != 1:
            continue
        day = search_day(search, event).date()
        funnel[(day, "search")] += 1
        rows["rollup_searches"].append(
            {
                "day": day,
                "query_key": query_key(search["query"]),
                "searches": 1,
                "zero_results": int(int(search["results"]) == 0),
            }
        )


def _sold(rows: Rows, order: SoldOrder) -> None:
    day = naive_utc(order.placed_at).date()
    total_usd = in_dollars(order.total, order.rate)
    rows["rollup_orders"].append(
        {
            **_no_orders(day, order.currency),
            "orders": 1,
            "revenue": order.total,
            "revenue_usd": total_usd,
            "discount": order.discount,
            "units": sum(line.quantity for line in order.lines),
            "first_orders": int(order.first_paid),
        }
    )
    for line in order.lines:
        sold = {
            "currency": order.currency,
            "category": line.category,
            "product_id": str(line.product_id),
            "units": line.quantity,
            "revenue": line.total,
            "revenue_usd": in_dollars(line.total, order.rate),
        }
        rows["rollup_sales"].append({"day": day, **sold})
        rows["rollup_sales_months"].append({"month": day.replace(day=1), **sold})
    rows["rollup_customer_months"].append(
        {
            "customer_id": str(order.customer_id),
            "month": day.replace(day=1),
            "orders": 1,
            "revenue_usd": total_usd,
        }
    )
    if order.first_in_month and order.cohort is not None:
        rows["rollup_cohorts"].append(
            {"cohort": order.cohort, "month": day.replace(day=1), "customers": 1}
        )


def _refunded(rows: Rows, event: EventRecord, day: date, order: SoldOrder | None) -> None:
    amount = Decimal(str(event.payload["amount"]))
    rows["rollup_orders"].append(
        {
            **_no_orders(day, str(event.payload["currency"])),
            "refunds": 1,
            "refunded": amount,
            "refunded_usd": in_dollars(amount, order.rate) if order else None,
        }
    )


def _no_orders(day: date, currency: str) -> dict[str, Any]:
    zero = Decimal("0.00")
    return {
        "day": day,
        "currency": currency,
        "orders": 0,
        "revenue": zero,
        "revenue_usd": zero,
        "discount": zero,
        "units": 0,
        "first_orders": 0,
        "refunds": 0,
        "refunded": zero,
        "refunded_usd": zero,
    }


def fold_sql(table: str, source: str) -> str:
    """One row per key of a rollup, summed: what compaction writes."""
    keys = ROLLUP_KEYS[table]
    measures = [name for name in ROLLUPS[table].names if name not in keys]
    sums = ", ".join(f"CAST(sum({m}) AS {_sql_type(table, m)}) AS {m}" for m in measures)
    listed = ", ".join(keys)
    return f"SELECT {listed}, {sums} FROM {source} GROUP BY {listed} ORDER BY {listed}"


def _sql_type(table: str, column: str) -> str:
    kind = ROLLUPS[table].field(column).type
    return "BIGINT" if str(kind) == "int64" else "DECIMAL(14,2)"


#: Paid orders as the facts hold them: placed (order.created) joined to confirmed.
PAID_ORDERS = """
    SELECT p.order_id, p.customer_id, p.currency, p.total, p.total_usd, p.discount,
           p.units, p.occurred_at AS placed_at,
           row_number() OVER (
               PARTITION BY p.customer_id ORDER BY p.occurred_at, p.order_id
           ) = 1 AS first_paid
    FROM fact_order_events p
    JOIN (SELECT DISTINCT order_id FROM fact_order_events WHERE event = 'confirmed') c
      USING (order_id)
    WHERE p.event = 'created'
"""

#: Each rollup rebuilt from the facts, one row per key (the ETL writes these whole).
REBUILD: dict[str, str] = {
    "rollup_orders": f"""
        WITH paid AS ({PAID_ORDERS}), changes AS (
            SELECT CAST(placed_at AS DATE) AS day, currency, 1 AS orders, total AS revenue,
                   total_usd AS revenue_usd, discount, units, CAST(first_paid AS INT)
                   AS first_orders, 0 AS refunds, 0.00 AS refunded, 0.00 AS refunded_usd
            FROM paid
            UNION ALL
            SELECT CAST(occurred_at AS DATE), currency, 0, 0.00, 0.00, 0.00, 0, 0, 1, amount,
                   amount_usd
            FROM fact_payments WHERE event = 'refunded'
        )
        {{fold}}
    """,
    "rollup_sales": f"""
        WITH paid AS ({PAID_ORDERS}), changes AS (
            SELECT CAST(paid.placed_at AS DATE) AS day, paid.currency, l.category,
                   l.product_id, l.quantity AS units, l.total AS revenue,
                   l.total_usd AS revenue_usd
            FROM paid JOIN fact_order_lines l USING (order_id)
        )
        {{fold}}
    """,
    "rollup_funnel": f"""
        WITH paid AS ({PAID_ORDERS}), changes AS (
            SELECT CAST(occurred_at AS DATE) AS day,
                   CASE event WHEN 'product_viewed' THEN 'view' WHEN 'cart_viewed' THEN 'cart'
                        WHEN 'checkout_started' THEN 'checkout' ELSE 'click' END AS stage,
                   1 AS events
            FROM fact_client_events
            UNION ALL
            SELECT CAST(placed_at AS DATE), 'order', 1 FROM paid
            UNION ALL
            SELECT CAST(occurred_at AS DATE), 'search', 1 FROM fact_searches WHERE page = 1
        )
        {{fold}}
    """,
    "rollup_searches": """
        WITH changes AS (
            SELECT CAST(occurred_at AS DATE) AS day, query_key, 1 AS searches,
                   CAST(results = 0 AS INT) AS zero_results
            FROM fact_searches WHERE page = 1
        )
        {fold}
    """,
    "rollup_customer_months": f"""
        WITH paid AS ({PAID_ORDERS}), changes AS (
            SELECT customer_id, CAST(date_trunc('month', placed_at) AS DATE) AS month,
                   1 AS orders, total_usd AS revenue_usd
            FROM paid
        )
        {{fold}}
    """,
}


REBUILD["rollup_sales_months"] = """
    WITH changes AS (
        SELECT CAST(date_trunc('month', day) AS DATE) AS month, currency, category,
               product_id, units, revenue, revenue_usd
        FROM rollup_sales
    )
    {fold}
"""
REBUILD["rollup_cohorts"] = f"""
    WITH paid AS ({PAID_ORDERS}), months AS (
        SELECT DISTINCT customer_id, CAST(date_trunc('month', placed_at) AS DATE) AS month
        FROM paid
    ), firsts AS (
        SELECT customer_id, min(month) AS cohort FROM months GROUP BY customer_id
    ), changes AS (
        SELECT cohort, month, 1 AS customers FROM months JOIN firsts USING (customer_id)
    )
    {{fold}}
"""


def rebuild_sql(table: str) -> str:
    return REBUILD[table].replace("{fold}", fold_sql(table, "changes"))


def batch_rows(events: Sequence[EventRecord], orders: Mapping[str, SoldOrder]) -> Rows:
    """Everything a batch adds to the warehouse: facts, dimension versions and rollups."""
    return {**warehouse_rows(events, orders), **rollup_rows(events, orders)}
