"""Every inventory query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.db import one_of
from commerce.inventory.models import (
    LowStockAlert,
    LowStockThreshold,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)


class LowRow(NamedTuple):
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    name: str
    available: int


class StockRow(NamedTuple):
    """One variant's stock in one warehouse, with what staff search it by."""

    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    product_name: str
    brand: str
    category_path: str
    warehouse: str
    on_hand: int
    reserved: int
    #: The SKU's own low-stock line, None where the shop's default applies.
    own_line: int | None
    #: The SKU's available units in every warehouse together (what its line is about).
    sku_available: int
    last_movement_at: datetime | None


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

    async def lowest_stocked(self, threshold: int, limit: int) -> tuple[int, list[LowRow]]:
        """How many live variants have at most `threshold` units available in all
        warehouses together, and the `limit` with the fewest."""
        available = func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0)
        low = (
            select(
                Variant.product_id,
                Variant.id.label("variant_id"),
                Variant.sku,
                Product.name,
                available.label("available"),
            )
            .join(Product, Product.id == Variant.product_id)
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.deleted_at.is_(None), Product.deleted_at.is_(None))
            .group_by(Variant.product_id, Variant.id, Variant.sku, Product.name)
            .having(available <= threshold)
            .subquery()
        )
        count = await self.session.scalar(select(func.count()).select_from(low))
        rows = await self.session.execute(
            select(low).order_by(low.c.available, low.c.sku).limit(limit)
        )
        return int(count or 0), [LowRow(*row) for row in rows]

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

    async def stock_rows(self, product_ids: list[uuid.UUID]) -> list[StockRow]:
        """The stock rows of these products' live variants (live products only)."""
        every = aliased(StockLevel)
        sku_total = (
            select(func.sum(every.on_hand - every.reserved))
            .where(every.variant_id == Variant.id)
            .scalar_subquery()
        )
        last_movement = (
            select(func.max(StockMovement.created_at))
            .where(
                StockMovement.variant_id == StockLevel.variant_id,
                StockMovement.warehouse_id == StockLevel.warehouse_id,
            )
            .scalar_subquery()
        )
        query = (
            select(
                Variant.product_id,
                Variant.id,
                Variant.sku,
                Product.name,
                Brand.name,
                Category.path,
                Warehouse.code,
                StockLevel.on_hand,
                StockLevel.reserved,
                LowStockThreshold.threshold,
                sku_total,
                last_movement,
            )
            .join(Product, Product.id == Variant.product_id)
            .join(Brand, Brand.id == Product.brand_id)
            .join(Category, Category.id == Product.category_id)
            .join(StockLevel, StockLevel.variant_id == Variant.id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .outerjoin(LowStockThreshold, LowStockThreshold.sku == Variant.sku)
            .where(
                one_of(Variant.product_id, product_ids),
                Variant.deleted_at.is_(None),
                Product.deleted_at.is_(None),
            )
        )
        return [StockRow._make(row) for row in await self.session.execute(query)]

    # -- order reservations -------------------------------------------------------------

    async def lock_levels(self, variant_ids: Sequence[uuid.UUID]) -> list[tuple[StockLevel, str]]:
        """These variants' stock rows with their warehouse codes, locked in one order
        (variant, warehouse) so concurrent checkouts never deadlock; re-read, not cached."""
        query = (
            select(StockLevel, Warehouse.code)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(one_of(StockLevel.variant_id, sorted(set(variant_ids))))
            .order_by(StockLevel.variant_id, StockLevel.warehouse_id)
            .with_for_update(of=StockLevel)
            .execution_options(populate_existing=True)
        )
        return [(level, code) for level, code in await self.session.execute(query)]

    async def lock_reservations(
        self, order_ids: Sequence[uuid.UUID], state: str
    ) -> list[Reservation]:
        query = (
            select(Reservation)
            .where(one_of(Reservation.order_id, order_ids), Reservation.state == state)
            .order_by(Reservation.order_id, Reservation.id)
            .with_for_update()
        )
        return list(await self.session.scalars(query))

    # -- low-stock lines and alerts -----------------------------------------------------

    async def own_line(self, sku: str) -> LowStockThreshold | None:
        return await self.session.get(LowStockThreshold, sku)

    async def set_line(self, sku: str, threshold: int) -> None:
        await self.session.execute(
            insert(LowStockThreshold)
            .values(sku=sku, threshold=threshold)
            .on_conflict_do_update(index_elements=["sku"], set_={"threshold": threshold})
        )

    async def remove_line(self, sku: str) -> bool:
        """False if the SKU had no line of its own."""
        removed = await self.session.execute(
            delete(LowStockThreshold)
            .where(LowStockThreshold.sku == sku)
            .returning(LowStockThreshold.sku)
        )
        return removed.first() is not None

    async def own_lines(self, skus: Sequence[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(LowStockThreshold.sku, LowStockThreshold.threshold).where(
                one_of(LowStockThreshold.sku, skus)
            )
        )
        return dict(rows.tuples().all())

    async def lock_alerted(self, skus: Sequence[str]) -> set[str]:
        """Which of these SKUs are alerted now (below their line), their alerts locked."""
        query = select(LowStockAlert.sku).where(one_of(LowStockAlert.sku, skus)).with_for_update()
        return set(await self.session.scalars(query))

    async def keep_alerts(self, skus: Sequence[str], alerted: set[str]) -> None:
        """Of `skus`, forget the alerts of those not in `alerted`."""
        await self.session.execute(
            delete(LowStockAlert).where(
                one_of(LowStockAlert.sku, skus), LowStockAlert.sku.not_in(alerted)
            )
        )

    async def add_alerts(self, available: dict[str, int]) -> None:
        """Record new alerts (SKU: units available when it crossed its line)."""
        await self.session.execute(
            insert(LowStockAlert)
            .values([{"sku": sku, "available": units} for sku, units in available.items()])
            .on_conflict_do_nothing()
        )
