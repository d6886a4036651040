"""Dashboard reports computed from the warehouse's rollups (never its raw facts).

Plain functions over a DuckDB connection (`analytics.warehouse.open_warehouse`): the API
caches what they return, tests and notebooks call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb

from commerce.currency.money import BASE_CURRENCY
from dashboards.schemas import (
    CategoryRow,
    CohortRow,
    FunnelRow,
    Period,
    PeriodRow,
    ProductRow,
    QueryRow,
    Report,
    SearchSummary,
    Totals,
)

TOP = 10
FUNNEL = ("search", "view", "cart", "checkout", "order")
_TRUNC = {Period.daily: "day", Period.weekly: "week", Period.monthly: "month"}
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def report(
    warehouse: duckdb.DuckDBPyConnection,
    period: Period,
    start: date,
    end: date,
    currency: str | None,
) -> Report:
    """Every figure of the dashboard for days `start`..`end` (inclusive), UTC.

    With `currency`, only orders placed in it, in it; without, all orders in dollars, each
    converted at the rate it was placed at.
    """
    window = _Window(warehouse, start, end, currency)
    series = _series(window, period)
    return Report(
        period=period,
        start=start,
        end=end,
        currency=currency or BASE_CURRENCY,
        converted=currency is None,
        as_of=None,
        totals=_totals(window),
        series=series,
        top_products=_top_products(window),
        top_categories=_top_categories(window),
        funnel=_funnel(window),
        cohorts=_cohorts(window),
        search=_search(window),
        top_queries=_queries(window, "searches"),
        zero_result_queries=_queries(window, "zero_results"),
    )


class _Window:
    """The days asked for, and the currency filter, as SQL."""

    def __init__(
        self, db: duckdb.DuckDBPyConnection, start: date, end: date, currency: str | None
    ) -> None:
        self.db, self.start, self.end, self.currency = db, start, end, currency
        self.revenue = "revenue" if currency else "revenue_usd"
        self.refunded = "refunded" if currency else "refunded_usd"

    def rows(self, sql: str, *, by_currency: bool = True, extra: Sequence[Any] = ()) -> list[Any]:
        where = "day BETWEEN ? AND ?"
        params: list[Any] = [self.start, self.end]
        if by_currency and self.currency:
            where += " AND currency = ?"
            params.append(self.currency)
        return self.db.execute(sql.replace("{where}", where), [*params, *extra]).fetchall()

    def sales(self, sql: str) -> list[Any]:
        """`sql` over `sales`: the window's sales rows, whole months from the monthly rollup
        and the days around them from the daily one."""
        # The first whole month's first day, and the day after the last whole month.
        first = _next_month(self.start - timedelta(days=1))
        after = (self.end + timedelta(days=1)).replace(day=1)
        currency = "AND currency = ?" if self.currency else ""
        chosen = [self.currency] if self.currency else []
        source = f"""
            WITH sales AS (
                SELECT currency, category, product_id, units, revenue, revenue_usd
                FROM rollup_sales
                WHERE day BETWEEN ? AND ? AND NOT (day >= ? AND day < ?) {currency}
                UNION ALL
                SELECT currency, category, product_id, units, revenue, revenue_usd
                FROM rollup_sales_months WHERE month >= ? AND month < ? {currency}
            )
        """
        params = [self.start, self.end, first, after, *chosen, first, after, *chosen]
        return self.db.execute(source + sql, params).fetchall()


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def average(revenue: Decimal, orders: int) -> Decimal | None:
    return (revenue / orders).quantize(CENT, rounding=ROUND_HALF_UP) if orders else None


def _ratio(part: float | Decimal, whole: float | Decimal) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _orders_sql(window: _Window, group: str) -> str:
    return f"""
        SELECT {group} AS key, sum(orders), sum({window.revenue}), sum(first_orders),
               sum(coalesce({window.refunded}, 0)), sum(units), sum(refunds)
        FROM rollup_orders WHERE {{where}} GROUP BY key
    """


def _series(window: _Window, period: Period) -> list[PeriodRow]:
    trunc = f"CAST(date_trunc('{_TRUNC[period]}', day) AS DATE)"
    found = {row[0]: row for row in window.rows(_orders_sql(window, trunc))}
    rows = []
    for first_day in periods(period, window.start, window.end):
        _, orders, revenue, first, refunded, _, _ = found.get(first_day, (None, 0, 0, 0, 0, 0, 0))
        rows.append(
            PeriodRow(
                period=first_day,
                orders=int(orders),
                revenue=_money(revenue),
                average_order_value=average(_money(revenue), int(orders)),
                new_customers=int(first),
                returning_orders=int(orders) - int(first),
                refunded=_money(refunded),
            )
        )
    return rows


def periods(period: Period, start: date, end: date) -> list[date]:
    """The first day of every period touching `start`..`end`."""
    if period is Period.daily:
        first = start
    elif period is Period.weekly:
        first = start - timedelta(days=start.weekday())
    else:
        first = start.replace(day=1)
    found = []
    while first <= end:
        found.append(first)
        if period is Period.daily:
            first += timedelta(days=1)
        elif period is Period.weekly:
            first += timedelta(days=7)
        else:
            first = _next_month(first)
    return found


def _totals(window: _Window) -> Totals:
    found = window.rows(_orders_sql(window, "1"))
    _, orders, revenue, first, refunded, units, refunds = (
        found[0] if found else (1, 0, 0, 0, 0, 0, 0)
    )
    revenue, refunded = _money(revenue), _money(refunded)
    return Totals(
        orders=int(orders),
        revenue=revenue,
        average_order_value=average(revenue, int(orders)),
        units=int(units),
        new_customers=int(first),
        returning_orders=int(orders) - int(first),
        refunds=int(refunds),
        refunded=refunded,
        refund_rate=_ratio(refunded, revenue),
    )


def _top_products(window: _Window) -> list[ProductRow]:
    top = window.sales(
        f"""
        SELECT product_id, arg_max(category, {window.revenue}), sum(units), sum({window.revenue})
        FROM sales GROUP BY product_id ORDER BY 4 DESC, 1 LIMIT {TOP}
        """
    )
    names = _names(window.db, [row[0] for row in top])
    return [
        ProductRow(
            product_id=pid,
            name=names.get(pid),
            category=category,
            units=int(units),
            revenue=_money(revenue),
        )
        for pid, category, units, revenue in top
    ]


def _names(db: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    found = db.execute(
        f"SELECT product_id, arg_max(name, version) FROM dim_product "
        f"WHERE product_id IN ({marks}) GROUP BY product_id",
        ids,
    ).fetchall()
    return {pid: name for pid, name in found}


def _top_categories(window: _Window) -> list[CategoryRow]:
    top = window.sales(
        f"""
        SELECT category, sum(units), sum({window.revenue}) FROM sales
        GROUP BY category ORDER BY 3 DESC, 1 LIMIT {TOP}
        """
    )
    return [
        CategoryRow(category=category, units=int(units), revenue=_money(revenue))
        for category, units, revenue in top
    ]


def _funnel(window: _Window) -> list[FunnelRow]:
    counted = dict(
        window.rows(
            "SELECT stage, sum(events) FROM rollup_funnel WHERE {where} GROUP BY stage",
            by_currency=False,
        )
    )
    rows: list[FunnelRow] = []
    before: int | None = None
    for stage in FUNNEL:
        events = int(counted.get(stage, 0))
        conversion = _ratio(events, before) if before is not None else None
        rows.append(FunnelRow(stage=stage, events=events, conversion=conversion))
        before = events if stage != "search" else None
    return rows


def _cohorts(window: _Window) -> list[CohortRow]:
    """Cohorts whose first month is in the window, followed up to the window's end."""
    found = window.db.execute(
        """
        SELECT cohort, datediff('month', cohort, month) AS later, sum(customers)
        FROM rollup_cohorts
        WHERE cohort BETWEEN ? AND ? AND month <= ?
        GROUP BY cohort, later HAVING sum(customers) > 0 ORDER BY cohort, later
        """,
        [window.start.replace(day=1), window.end, window.end],
    ).fetchall()
    sizes = {cohort: n for cohort, later, n in found if later == 0}
    return [
        CohortRow(
            cohort=cohort,
            months_later=int(later),
            customers=int(n),
            retention=round(n / sizes[cohort], 4),
        )
        for cohort, later, n in found
    ]


def _search(window: _Window) -> SearchSummary:
    searches, zero = window.rows(
        "SELECT coalesce(sum(searches), 0), coalesce(sum(zero_results), 0) "
        "FROM rollup_searches WHERE {where}",
        by_currency=False,
    )[0]
    return SearchSummary(
        searches=int(searches), zero_results=int(zero), zero_result_rate=_ratio(zero, searches)
    )


def _queries(window: _Window, ranked_by: str) -> list[QueryRow]:
    found = window.rows(
        f"""
        SELECT query_key, sum(searches) AS searches, sum(zero_results) AS zero_results
        FROM rollup_searches WHERE {{where}} GROUP BY query_key
        HAVING sum({ranked_by}) > 0 ORDER BY {ranked_by} DESC, query_key LIMIT {TOP}
        """,
        by_currency=False,
    )
    return [
        QueryRow(query=query, searches=int(n), zero_results=int(zero)) for query, n, zero in found
    ]
