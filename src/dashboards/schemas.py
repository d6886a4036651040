"""What a dashboard report holds: each table a list of flat rows, so any downloads as CSV."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel


class Period(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class Totals(BaseModel):
    orders: int
    revenue: Decimal
    average_order_value: Decimal | None
    units: int
    new_customers: int
    returning_orders: int
    refunds: int
    refunded: Decimal
    #: Refunded amount over revenue.
    refund_rate: float | None


class PeriodRow(BaseModel):
    #: The period's first day (weeks start on Monday).
    period: date
    orders: int
    revenue: Decimal
    average_order_value: Decimal | None
    new_customers: int
    returning_orders: int
    refunded: Decimal


class ProductRow(BaseModel):
    product_id: str
    name: str | None
    category: str
    units: int
    revenue: Decimal


class CategoryRow(BaseModel):
    category: str
    units: int
    revenue: Decimal


class FunnelRow(BaseModel):
    """A stage's events in the period, and its share of the stage before (views: None)."""

    stage: str
    events: int
    conversion: float | None


class CohortRow(BaseModel):
    """Customers whose first paid order fell in `cohort`, and how many ordered again in
    the month `months_later` after (0: the first month itself)."""

    cohort: date
    months_later: int
    customers: int
    retention: float


class QueryRow(BaseModel):
    query: str
    searches: int
    zero_results: int


class SearchSummary(BaseModel):
    searches: int
    zero_results: int
    zero_result_rate: float | None


class Report(BaseModel):
    period: Period
    start: date
    end: date
    #: The currency amounts are in; `converted`: every order's in dollars at its own rate.
    currency: str
    converted: bool
    #: When the warehouse last took in data: figures are true as of then.
    as_of: datetime | None
    totals: Totals
    series: list[PeriodRow]
    top_products: list[ProductRow]
    top_categories: list[CategoryRow]
    funnel: list[FunnelRow]
    cohorts: list[CohortRow]
    search: SearchSummary
    top_queries: list[QueryRow]
    zero_result_queries: list[QueryRow]


#: The report's tables a client may download (`?table=`), and their rows.
TABLES: dict[str, type[BaseModel]] = {
    "series": PeriodRow,
    "top_products": ProductRow,
    "top_categories": CategoryRow,
    "funnel": FunnelRow,
    "cohorts": CohortRow,
    "top_queries": QueryRow,
    "zero_result_queries": QueryRow,
}
