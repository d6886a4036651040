"""Dashboard figures equal the same figures computed independently from PostgreSQL.

On a shop with a past of its own (`tests.history_shop`), the reports are compared with SQL
over its orders, payments and outbox.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from analytics.compaction import rebuild_rollups
from analytics.warehouse import ParquetWarehouse, open_warehouse
from dashboards.reports import report
from dashboards.schemas import Period, Report
from tests.history_shop import FIRST, LAST, Shop, stream


def monthly(root: Path, currency: str | None = None) -> Report:
    with open_warehouse(root) as warehouse:
        return report(warehouse, Period.monthly, FIRST, LAST, currency)


async def rows(shop: Shop, sql: str, **params: Any) -> list[Any]:
    async with shop.sessions() as session:
        return list((await session.execute(text(sql), params)).all())


PAID = """
SELECT id, customer_id, currency, total, round(total / rate, 2) AS total_usd,
       date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month,
       row_number() OVER (PARTITION BY customer_id ORDER BY created_at, id) = 1 AS first
FROM orders WHERE paid_at IS NOT NULL
"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def test_revenue_orders_aov_and_new_customers_match_postgres(shop: Shop) -> None:
    expected = await rows(
        shop,
        f"SELECT month, count(*), sum(total_usd), count(*) FILTER (WHERE first) "
        f"FROM ({PAID}) paid GROUP BY month ORDER BY month",
    )
    found = monthly(shop.root)

    assert [(r.period, r.orders, r.revenue, r.new_customers) for r in found.series] == [
        (month, n, revenue, new) for month, n, revenue, new in expected
    ]
    for row, (_, n, revenue, _) in zip(found.series, expected, strict=True):
        assert row.average_order_value == cents(revenue / n)
    assert found.totals.orders == sum(n for _, n, _, _ in expected)
    assert found.totals.returning_orders > 0, "history has returning customers"


async def test_a_currency_report_counts_only_its_orders_in_that_currency(shop: Shop) -> None:
    ((orders, revenue),) = await rows(
        shop,
        "SELECT count(*), sum(total) FROM orders WHERE paid_at IS NOT NULL AND currency = 'EUR'",
    )
    found = monthly(shop.root, "EUR")
    assert (found.totals.orders, found.totals.revenue) == (orders, revenue)
    assert (found.currency, found.converted) == ("EUR", False)


async def test_refunds_and_refund_rate_match_postgres(shop: Shop) -> None:
    ((refunds, refunded),) = await rows(
        shop,
        "SELECT count(*), sum(round(p.amount / o.rate, 2)) FROM payments p "
        "JOIN orders o ON o.id = p.order_id WHERE p.status = 'REFUNDED' "
        "AND (p.updated_at AT TIME ZONE 'UTC')::date BETWEEN :first AND :last",
        first=FIRST,
        last=LAST,
    )
    found = monthly(shop.root)
    assert refunds > 0
    assert (found.totals.refunds, found.totals.refunded) == (refunds, refunded)
    assert found.totals.refund_rate == round(float(refunded) / float(found.totals.revenue), 4)


async def test_funnel_conversion_matches_the_events_postgres_holds(shop: Shop) -> None:
    counted = dict(
        await rows(
            shop,
            "SELECT event->>'type', count(*) FROM outbox WHERE event->>'type' LIKE 'activity.%' "
            "GROUP BY 1",
        )
    )
    ((paid,),) = await rows(shop, "SELECT count(*) FROM orders WHERE paid_at IS NOT NULL")
    funnel = {row.stage: row for row in monthly(shop.root).funnel}

    assert funnel["view"].events == counted["activity.product_viewed"]
    assert funnel["cart"].events == counted["activity.cart_viewed"]
    assert funnel["order"].events == paid
    assert funnel["cart"].conversion == round(
        counted["activity.cart_viewed"] / counted["activity.product_viewed"], 4
    )


async def test_cohort_retention_matches_postgres(shop: Shop) -> None:
    expected = await rows(
        shop,
        f"""
        WITH paid AS ({PAID}), firsts AS (
            SELECT customer_id, min(month) AS cohort FROM paid GROUP BY customer_id
        )
        SELECT cohort, (extract(year FROM age(month, cohort)) * 12
                        + extract(month FROM age(month, cohort)))::int AS later,
               count(DISTINCT customer_id)
        FROM paid JOIN firsts USING (customer_id) GROUP BY 1, 2 ORDER BY 1, 2
        """,
    )
    found = monthly(shop.root).cohorts
    assert [(c.cohort, c.months_later, c.customers) for c in found] == [
        (cohort, later, n) for cohort, later, n in expected
    ]
    assert any(c.months_later > 0 and 0 < c.retention < 1 for c in found)


async def test_search_zero_result_rate_matches_postgres(shop: Shop) -> None:
    ((searches, zero),) = await rows(
        shop,
        "SELECT count(*), count(*) FILTER (WHERE (search->>'results')::int = 0) FROM outbox, "
        "jsonb_array_elements(event->'payload'->'searches') AS search "
        "WHERE event->>'type' = 'search.answered'",
    )
    found = monthly(shop.root)
    assert (found.search.searches, found.search.zero_results) == (searches, zero)
    assert found.zero_result_queries and found.zero_result_queries[0].zero_results > 0


async def test_rebuilt_rollups_give_the_same_report_and_never_double_count(
    shop: Shop, tmp_path: Path
) -> None:
    streamed = monthly(shop.root)
    copy = ParquetWarehouse(tmp_path)
    await stream(shop.sessions, copy)
    await stream(shop.sessions, copy)  # delivered again: the manifest keeps it once

    rebuild_rollups(copy)
    rebuild_rollups(copy)  # and the ETL twice

    assert monthly(tmp_path) == streamed
    assert len(copy.manifest.files["rollup_orders"]) == 1


TOP_SOLD = """
SELECT {key}, sum(l.quantity), sum({amount})
FROM order_lines l JOIN orders o ON o.id = l.order_id
WHERE o.paid_at IS NOT NULL AND (o.created_at AT TIME ZONE 'UTC')::date BETWEEN :start AND :end
  AND (CAST(:currency AS text) IS NULL OR o.currency = :currency)
GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10
"""


@pytest.mark.parametrize("currency", [None, "EUR"])
async def test_top_products_and_categories_over_part_months_match_postgres(
    shop: Shop, currency: str | None
) -> None:
    start, end = date(2025, 1, 10), date(2025, 3, 20)  # parts of January and March
    amount = "l.total" if currency else "round(l.total / o.rate, 2)"
    params = {"start": start, "end": end, "currency": currency}
    products = await rows(shop, TOP_SOLD.format(key="l.product_id::text", amount=amount), **params)
    categories = await rows(shop, TOP_SOLD.format(key="l.category", amount=amount), **params)

    with open_warehouse(shop.root) as warehouse:
        found = report(warehouse, Period.weekly, start, end, currency)

    assert [(p.product_id, p.units, p.revenue) for p in found.top_products] == [
        tuple(row) for row in products
    ]
    assert [(c.category, c.units, c.revenue) for c in found.top_categories] == [
        tuple(row) for row in categories
    ]
