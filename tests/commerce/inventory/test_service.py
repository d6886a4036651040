"""Inventory on the real database: the ledger, the floor at zero and concurrent adjustments."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog import service as catalog
from commerce.catalog.schemas import ProductIn
from commerce.db import transaction
from commerce.inventory import service
from commerce.inventory.errors import NegativeStock
from commerce.inventory.models import StockMovement
from commerce.inventory.schemas import StockChange
from commerce.outbox import OutboxRow

pytestmark = pytest.mark.usefixtures("reference")


async def new_sku(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, uuid.UUID]:
    sku = f"INV-{uuid.uuid4().hex[:10]}"
    data = ProductIn(
        sku=sku, name="Stock Lamp", brand="Acme", category="lighting", price=Decimal(9)
    )
    async with transaction(sessions) as session:
        product = await catalog.create_product(session, data)
    return sku, product.id


async def change(sessions: async_sessionmaker[AsyncSession], sku: str, **change: object) -> int:
    async with transaction(sessions) as session:
        stock = await service.adjust_stock(
            session,
            sku,
            StockChange.model_validate({"warehouse": "berlin", "reason": "t", **change}),
        )
    return stock.available


async def test_every_change_has_a_ledger_row_and_an_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sku, product_id = await new_sku(sessions)
    assert await change(sessions, sku, quantity=10) == 10
    assert await change(sessions, sku, delta=-3) == 7
    with pytest.raises(NegativeStock):
        await change(sessions, sku, delta=-8)

    async with sessions() as session:
        ledger = (
            await session.scalars(
                select(StockMovement.delta).where(StockMovement.product_id == product_id)
            )
        ).all()
        events = (await session.scalars(select(OutboxRow.event).where(OutboxRow.key == sku))).all()
    assert sorted(ledger) == [-3, 10]
    assert sorted(e["payload"]["available"] for e in events) == [7, 10]


async def test_concurrent_adjustments_all_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Twenty simultaneous +1s: none lost, each ledger row sees the stock its lock left."""
    sku, product_id = await new_sku(sessions)
    await change(sessions, sku, quantity=5)

    await asyncio.gather(*(change(sessions, sku, delta=1) for _ in range(20)))

    async with sessions() as session:
        afters = (
            await session.scalars(
                select(StockMovement.on_hand_after)
                .where(StockMovement.product_id == product_id, StockMovement.delta == 1)
                .order_by(StockMovement.id)
            )
        ).all()
    assert sorted(afters) == list(range(6, 26))
    async with sessions() as session:
        assert (await service.stock_of(session, sku)).available == 25
