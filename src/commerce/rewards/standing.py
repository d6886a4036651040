"""What a customer has bought that still counts: paid orders not cancelled, with the lines
they kept (a returned line no longer counts). Achievements and quests measure it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.repository import OrderRepository


class Measure(StrEnum):
    ORDERS = "orders"
    CATEGORIES = "categories"
    SPEND_USD = "spend_usd"


@dataclass(frozen=True)
class KeptOrder:
    order_id: uuid.UUID
    paid_at: datetime
    categories: frozenset[str]
    spent_usd: Decimal


@dataclass(frozen=True)
class TakeBack:
    """An order about to be cancelled (`units` None) or units of it about to be returned."""

    order_id: uuid.UUID
    units: Mapping[uuid.UUID, int] | None = None

    def returned(self, order_id: uuid.UUID, line_id: uuid.UUID, quantity: int) -> int:
        if order_id != self.order_id:
            return 0
        return quantity if self.units is None else self.units.get(line_id, 0)


async def kept_orders(
    session: AsyncSession, customer_id: uuid.UUID, *, taking_back: TakeBack | None = None
) -> list[KeptOrder]:
    """What still counts; with `taking_back`, what would count once it is taken back."""
    kept = await kept_orders_of(session, [customer_id], taking_back=taking_back)
    return kept.get(customer_id, [])


async def kept_orders_of(
    session: AsyncSession,
    customer_ids: Iterable[uuid.UUID],
    *,
    taking_back: TakeBack | None = None,
) -> dict[uuid.UUID, list[KeptOrder]]:
    """What still counts for each of the customers (one read for them all); a customer with
    nothing that counts is left out."""
    rows = await OrderRepository(session).kept_lines(customer_ids)
    owner: dict[uuid.UUID, uuid.UUID] = {}
    paid: dict[uuid.UUID, datetime] = {}
    categories: dict[uuid.UUID, set[str]] = {}
    spent: dict[uuid.UUID, Decimal] = {}
    for customer_id, order_id, line_id, paid_at, rate, category, quantity, returned, total in rows:
        if taking_back is not None:
            returned += taking_back.returned(order_id, line_id, quantity)
        if paid_at is None or returned >= quantity:  # paid_at: narrows the type
            continue
        owner[order_id] = customer_id
        paid[order_id] = paid_at
        categories.setdefault(order_id, set()).add(category)
        kept = total * (quantity - returned) / quantity
        spent[order_id] = spent.get(order_id, Decimal(0)) + kept / rate
    kept_by: dict[uuid.UUID, list[KeptOrder]] = {}
    for order_id, paid_at in paid.items():
        order = KeptOrder(order_id, paid_at, frozenset(categories[order_id]), spent[order_id])
        kept_by.setdefault(owner[order_id], []).append(order)
    return kept_by


def progress(measure: Measure, orders: Sequence[KeptOrder]) -> Decimal:
    if measure is Measure.ORDERS:
        return Decimal(len(orders))
    if measure is Measure.CATEGORIES:
        return Decimal(len(frozenset().union(*(o.categories for o in orders))))
    return sum((o.spent_usd for o in orders), Decimal(0)).quantize(Decimal("0.01"))


def within(orders: Sequence[KeptOrder], since: datetime, until: datetime) -> list[KeptOrder]:
    return [o for o in orders if since <= o.paid_at <= until]
