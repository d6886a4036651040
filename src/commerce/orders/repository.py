"""Every order query."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import one_of
from commerce.orders.models import Order, OrderLine, OrderReturn
from commerce.orders.schemas import OrderFilters
from commerce.orders.states import Status

#: Orders as analytics counts them, each line a row: is it the customer's first paid order
#: (ever, in its month), and their cohort (the month of their first paid order).
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


#: The first key of the per-address checkout lock ("UNPA" in ASCII).
PLACED_FROM_LOCK = 0x554E5041


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(Order.id == order_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def lock(self, order_ids: Iterable[uuid.UUID]) -> list[Order]:
        """Orders, locked in id order (two batches of the same orders cannot deadlock)."""
        query = (
            select(Order)
            .where(one_of(Order.id, sorted(set(order_ids))))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(await self.session.scalars(query))

    async def customers(self, order_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Each order's customer."""
        rows = await self.session.execute(
            select(Order.id, Order.customer_id).where(one_of(Order.id, order_ids))
        )
        return dict(rows.tuples().all())

    async def by_key(self, customer_id: uuid.UUID, key: str) -> Order | None:
        return await self.session.scalar(
            select(Order).where(Order.customer_id == customer_id, Order.idempotency_key == key)
        )

    async def lines(self, order_id: uuid.UUID, *, for_update: bool = False) -> list[OrderLine]:
        query = select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.position)
        if for_update:
            query = query.with_for_update()
        return list(await self.session.scalars(query))

    async def with_lines(
        self, order_ids: Iterable[uuid.UUID]
    ) -> list[tuple[Order, list[OrderLine]]]:
        """The orders named that exist, each with its lines in order."""
        ids = list(order_ids)
        orders = await self.session.scalars(select(Order).where(one_of(Order.id, ids)))
        lines = await self.session.scalars(
            select(OrderLine)
            .where(one_of(OrderLine.order_id, ids))
            .order_by(OrderLine.order_id, OrderLine.position)
        )
        by_order: dict[uuid.UUID, list[OrderLine]] = {}
        for line in lines:
            by_order.setdefault(line.order_id, []).append(line)
        return [(order, by_order.get(order.id, [])) for order in orders]

    async def kept_lines(
        self, customer_ids: Iterable[uuid.UUID]
    ) -> list[
        tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime | None, Decimal, str, int, int, Decimal]
    ]:
        """The customers' lines of paid orders not cancelled, not wholly returned: customer
        id, order id, line id, paid at, rate, category, quantity, returned quantity, total."""
        rows = await self.session.execute(
            select(
                Order.customer_id,
                Order.id,
                OrderLine.id,
                Order.paid_at,
                Order.rate,
                OrderLine.category,
                OrderLine.quantity,
                OrderLine.returned_quantity,
                OrderLine.total,
            )
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                one_of(Order.customer_id, customer_ids),
                Order.paid_at.is_not(None),
                Order.status != Status.CANCELLED,
                OrderLine.quantity > OrderLine.returned_quantity,
            )
        )
        return list(rows.tuples().all())

    async def sold_rows(self, order_ids: Sequence[uuid.UUID]) -> Sequence[Row[Any]]:
        """The orders named, a row per line, in order (see SOLD)."""
        return (await self.session.execute(SOLD, {"ids": list(order_ids)})).all()

    async def units_sold(self, product_ids: Sequence[uuid.UUID], days: int) -> dict[uuid.UUID, int]:
        """Units of each product in orders paid in the last `days` days, less returns and
        cancelled orders (products with none are left out)."""
        rows = await self.session.execute(
            select(OrderLine.product_id, func.sum(OrderLine.quantity - OrderLine.returned_quantity))
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                one_of(OrderLine.product_id, product_ids),
                Order.paid_at >= func.now() - timedelta(days=days),
                Order.status != Status.CANCELLED,
            )
            .group_by(OrderLine.product_id)
        )
        return {product: int(sold) for product, sold in rows.tuples()}

    async def returns(self, order_id: uuid.UUID) -> list[OrderReturn]:
        query = (
            select(OrderReturn)
            .where(OrderReturn.order_id == order_id)
            .order_by(OrderReturn.created_at)
        )
        return list(await self.session.scalars(query))

    async def return_(
        self, return_id: uuid.UUID, *, for_update: bool = False
    ) -> OrderReturn | None:
        query = select(OrderReturn).where(OrderReturn.id == return_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def requested_returns(self, *, offset: int, limit: int) -> tuple[list[OrderReturn], int]:
        query = select(OrderReturn).where(OrderReturn.status == "REQUESTED")
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(OrderReturn.created_at).offset(offset).limit(limit)
        )
        return list(rows), total or 0

    async def page(
        self, filters: OrderFilters, *, offset: int, limit: int
    ) -> tuple[list[Order], int]:
        query = _filtered(filters)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Order.created_at.desc(), Order.id).offset(offset).limit(limit)
        )
        return list(rows), total or 0

    async def open_unpaid(
        self, now: datetime, *, customer_id: uuid.UUID | None = None, placed_from: str | None = None
    ) -> list[Order]:
        """A customer's (or an address's) orders placed without a payment method and still
        holding stock unpaid, soonest to end first (an order given one is being charged)."""
        query = select(Order).where(
            Order.status == Status.PENDING,
            Order.expires_at > now,
            Order.payment_token.is_(None),
            Order.paid_at.is_(None),
        )
        if customer_id is not None:
            query = query.where(Order.customer_id == customer_id)
        if placed_from is not None:
            query = query.where(Order.placed_from == placed_from)
        return list(await self.session.scalars(query.order_by(Order.expires_at)))

    async def lock_placed_from(self, address: str) -> None:
        """Serialise checkouts from one address until the transaction ends (two-key form:
        apart from the outbox's writer pins)."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(PLACED_FROM_LOCK, func.hashtext(address)))
        )

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Order]:
        """Unpaid orders past their reservation, locked; ones another worker holds are skipped."""
        query = (
            select(Order)
            .where(
                Order.status == Status.PENDING,
                Order.expires_at < now,
                Order.paid_at.is_(None),
            )
            .order_by(Order.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(query))


def _filtered(filters: OrderFilters) -> Select[Order]:
    query = select(Order)
    if filters.status is not None:
        query = query.where(Order.status == filters.status)
    if filters.customer_id is not None:
        query = query.where(Order.customer_id == filters.customer_id)
    if filters.created_from is not None:
        query = query.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Order.created_at < filters.created_to)
    return query
