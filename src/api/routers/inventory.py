"""Inventory: stock per SKU and warehouse. Each change commits with its ledger row and event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Session
from api.problems import responses
from commerce.inventory import service
from commerce.inventory.schemas import StockChange, StockOut, WarehouseOut

router = APIRouter(prefix="/api/admin", tags=["inventory"], responses=responses(401, 403, 422))

SkuPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.get("/inventory/{sku}", response_model=StockOut, responses=responses(404))
async def get_stock(sku: SkuPath, session: Session) -> StockOut:
    return await service.stock_of(session, sku)


@router.patch("/inventory/{sku}/stock", response_model=StockOut, responses=responses(404, 409))
async def change_stock(sku: SkuPath, change: StockChange, session: Session) -> StockOut:
    """Set (`quantity`) or adjust (`delta`) one warehouse's stock, with a reason for the ledger."""
    return await service.adjust_stock(session, sku, change)


@router.get("/warehouses", response_model=list[WarehouseOut])
async def list_warehouses(session: Session) -> list[WarehouseOut]:
    return await service.list_warehouses(session)
