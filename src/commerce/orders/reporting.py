"""Placed orders as analytics counts them: read by the warehouse writer when one is paid."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.repository import OrderRepository


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
    for row in await OrderRepository(session).sold_rows([uuid.UUID(i) for i in ids]):
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
    return await OrderRepository(session).units_sold(product_ids, days)
