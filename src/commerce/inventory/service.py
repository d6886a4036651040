"""Inventory use cases: stock per variant SKU and warehouse, a ledger row for every change."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import column_values
from commerce.inventory.errors import NegativeStock, SkuNotFound, UnknownWarehouse
from commerce.inventory.ledger import movement_event
from commerce.inventory.models import StockMovement
from commerce.inventory.repository import InventoryRepository, StockRow
from commerce.inventory.schemas import (
    LowStock,
    LowStockItem,
    StockChange,
    StockOut,
    WarehouseOut,
    WarehouseStock,
)
from commerce.outbox import add_event


async def adjust_stock(session: AsyncSession, sku: str, change: StockChange) -> StockOut:
    """Set or adjust one warehouse's on-hand stock; never below what is reserved or zero."""
    repo = InventoryRepository(session)
    found = await repo.variant_for_sku(sku)
    if found is None:
        raise SkuNotFound(sku)
    product_id, variant_id = found
    warehouse = await repo.warehouse(change.warehouse)
    if warehouse is None:
        raise UnknownWarehouse(change.warehouse)
    level = await repo.lock_level(product_id, variant_id, warehouse.id)
    target = change.quantity if change.quantity is not None else level.on_hand + (change.delta or 0)
    if target < level.reserved:
        raise NegativeStock(sku, level.on_hand, level.reserved, target)
    delta = target - level.on_hand
    level.on_hand = target
    movement = StockMovement(
        product_id=product_id,
        variant_id=variant_id,
        warehouse_id=warehouse.id,
        delta=delta,
        on_hand_after=target,
        reason=change.reason,
    )
    repo.record_movement(movement)
    await session.flush()
    stock = await stock_of(session, sku)
    event = movement_event(column_values(movement), sku, warehouse.code, stock.available)
    add_event(session, "stock.adjusted", sku, movement.id, event)
    return stock


async def stock_of(session: AsyncSession, sku: str) -> StockOut:
    """A variant SKU's stock in every warehouse that has held it."""
    repo = InventoryRepository(session)
    found = await repo.variant_for_sku(sku)
    if found is None:
        raise SkuNotFound(sku)
    product_id, variant_id = found
    levels = [
        WarehouseStock(
            warehouse=code,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.on_hand - level.reserved,
        )
        for level, code in await repo.levels(variant_id)
    ]
    return StockOut(
        product_id=product_id,
        variant_id=variant_id,
        sku=sku,
        available=sum(w.available for w in levels),
        warehouses=levels,
    )


async def stock_rows(session: AsyncSession, product_ids: list[uuid.UUID]) -> list[StockRow]:
    """Each live variant's stock per warehouse, for the stock index."""
    return await InventoryRepository(session).stock_rows(product_ids)


async def list_warehouses(session: AsyncSession) -> list[WarehouseOut]:
    return [
        WarehouseOut(code=w.code, name=w.name)
        for w in await InventoryRepository(session).warehouses()
    ]


async def low_stock(session: AsyncSession, threshold: int, limit: int = 20) -> LowStock:
    """The variants close to selling out, fewest available first."""
    count, rows = await InventoryRepository(session).lowest_stocked(threshold, limit)
    return LowStock(
        threshold=threshold,
        count=count,
        lowest=[
            LowStockItem(product_id=p, variant_id=v, sku=sku, name=name, available=available)
            for p, v, sku, name, available in rows
        ],
    )
