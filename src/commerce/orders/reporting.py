"""Placed orders as analytics counts them: read by the warehouse writer when one is paid."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order, OrderLine
from commerce.orders.states import Status

SOLD = text("""
SELECT o.id, o.customer_id, o.created_at, o.currency, o.rate, o.total, o.discount,
       NOT EXISTS (
           SELECT 1 FROM orders e
           WHERE e.customer_id = o.customer_id AND e.paid_at IS NOT NULL
             AND (e.created_at, e.id) < (o.created_at, o.id)
       ) AS first_paid,
       NOT EXISTS (
           SELECT 1 FROM orders e
           WHERE e.customer_id = o.customer_id AND e.paid_at IS NOT NULL
             AND date_trunc('month', e.created_at AT TIME ZONE 'UTC')
                 = date_trunc('month', o.created_at AT TIME ZONE 'UTC')
             AND (e.created_at, e.id) < (o.created_at, o.id)
       ) AS first_in_month,
       (SELECT date_trunc('month', min(e.created_at) AT TIME ZONE 'UTC')::date FROM orders e
        WHERE e.customer_id = o.customer_id AND (e.paid_at IS NOT NULL OR e.id = o.id)
       ) AS cohort,
       l.product_id, l.category, l.quantity, l.total AS line_total
FROM orders o JOIN order_lines l ON l.order_id = o.id
WHERE o.id = ANY(:ids)
ORDER BY o.id, l.position
""")


@dataclass(frozen=True)
class SoldLine:
    product_id: uuid.UUID
    category: str
    quantity: int
    total: Decimal


@dataclass(frozen=True)
class SoldOrder:
    customer_id: uuid.UUID
    placed_at: datetime
    currency: str
    rate: Decimal
    total: Decimal
    discount: Decimal
    #: No paid order of the customer's was placed before this one.
    first_paid: bool
    lines: list[SoldLine]
    #: No paid order of the customer's was placed before this one in its month (UTC).
    first_in_month: bool = True
    #: The month (UTC) of the customer's first paid order: their cohort.
    cohort: date | None = None


async def sold_orders(session: AsyncSession, ids: Sequence[str]) -> dict[str, SoldOrder]:
    """The orders named (as placed, with their lines), by id; unknown ids are left out."""
    found: dict[str, SoldOrder] = {}
    if not ids:
        return found
    rows = await session.execute(SOLD, {"ids": [uuid.UUID(i) for i in ids]})
    for row in rows:
        order = found.get(str(row.id))
        if order is None:
            order = found[str(row.id)] = SoldOrder(
                row.customer_id,
                row.created_at,
                row.currency,
                row.rate,
                row.total,
                row.discount,
                row.first_paid,
                [],
                row.first_in_month,
                row.cohort,
            )
        order.lines.append(SoldLine(row.product_id, row.category, row.quantity, row.line_total))
    return found


#: The window of "best-selling".
SELLING_DAYS = 30


async def units_sold(
    session: AsyncSession, product_ids: Sequence[uuid.UUID], *, days: int = SELLING_DAYS
) -> dict[uuid.UUID, int]:
    """Units of each product in orders paid in the last `days` days, less returns and
    cancelled orders (products with none are left out)."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity - OrderLine.returned_quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.product_id.in_(product_ids),
            Order.paid_at >= func.now() - timedelta(days=days),
            Order.status != Status.CANCELLED,
        )
        .group_by(OrderLine.product_id)
    )
    return {product: int(sold) for product, sold in rows.tuples()}
