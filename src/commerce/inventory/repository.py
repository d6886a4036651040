"""Every inventory query."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product, Variant
from commerce.inventory.models import StockLevel, StockMovement, Warehouse


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def variant_for_sku(self, sku: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(product id, variant id) of the live variant with this SKU, of a live product."""
        row = (
            await self.session.execute(
                select(Variant.product_id, Variant.id)
                .join(Product, Product.id == Variant.product_id)
                .where(
                    Variant.sku == sku,
                    Variant.deleted_at.is_(None),
                    Product.deleted_at.is_(None),
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def warehouse(self, code: str) -> Warehouse | None:
        return await self.session.scalar(select(Warehouse).where(Warehouse.code == code))

    async def warehouses(self) -> list[Warehouse]:
        return list(await self.session.scalars(select(Warehouse).order_by(Warehouse.code)))

    async def lock_level(
        self, product_id: uuid.UUID, variant_id: uuid.UUID, warehouse_id: int
    ) -> StockLevel:
        """The stock row, created at zero if new, locked until the transaction ends."""
        await self.session.execute(
            insert(StockLevel)
            .values(
                variant_id=variant_id,
                product_id=product_id,
                warehouse_id=warehouse_id,
                on_hand=0,
                reserved=0,
            )
            .on_conflict_do_nothing()
        )
        query = (
            select(StockLevel)
            .where(StockLevel.variant_id == variant_id, StockLevel.warehouse_id == warehouse_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(query)).one()

    async def levels(self, variant_id: uuid.UUID) -> list[tuple[StockLevel, str]]:
        query = (
            select(StockLevel, Warehouse.code)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.variant_id == variant_id)
            .order_by(Warehouse.code)
        )
        return [(row[0], row[1]) for row in await self.session.execute(query)]

    def record_movement(self, movement: StockMovement) -> None:
        self.session.add(movement)
