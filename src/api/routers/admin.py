"""Admin writes: products and stock. Each commits the change and its event together."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import Session
from api.problems import responses
from commerce.catalog import service as catalog
from commerce.catalog.schemas import ProductIn, ProductOut, ProductPatch
from commerce.inventory import service as inventory
from commerce.inventory.schemas import StockChange, StockOut, WarehouseOut

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=responses(401, 403, 422))

SkuPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.post("/products", status_code=201, response_model=ProductOut, responses=responses(409))
async def create_product(data: ProductIn, session: Session) -> ProductOut:
    return await catalog.create_product(session, data)


@router.patch("/products/{product_id}", response_model=ProductOut, responses=responses(404))
async def update_product(
    product_id: uuid.UUID, patch: ProductPatch, session: Session
) -> ProductOut:
    return await catalog.update_product(session, product_id, patch)


@router.delete("/products/{product_id}", status_code=204, responses=responses(404))
async def delete_product(product_id: uuid.UUID, session: Session) -> Response:
    await catalog.delete_product(session, product_id)
    return Response(status_code=204)


@router.get("/inventory/{sku}", response_model=StockOut, responses=responses(404))
async def get_stock(sku: SkuPath, session: Session) -> StockOut:
    return await inventory.stock_of(session, sku)


@router.patch("/inventory/{sku}/stock", response_model=StockOut, responses=responses(404, 409))
async def change_stock(sku: SkuPath, change: StockChange, session: Session) -> StockOut:
    """Set (`quantity`) or adjust (`delta`) one warehouse's stock, with a reason for the ledger."""
    return await inventory.adjust_stock(session, sku, change)


@router.get("/warehouses", response_model=list[WarehouseOut])
async def list_warehouses(session: Session) -> list[WarehouseOut]:
    return await inventory.list_warehouses(session)
