"""Inventory: stock per SKU and warehouse. Each change commits with its ledger row and event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import Session, Stock
from api.problems import responses
from commerce.inventory import alerts, service
from commerce.inventory.schemas import (
    StockChange,
    StockOut,
    ThresholdIn,
    ThresholdOut,
    WarehouseOut,
)
from search.stock import StockPage, StockQuery

router = APIRouter(prefix="/api/admin", tags=["inventory"], responses=responses(401, 403, 422))

SkuPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.get("/inventory/search", response_model=StockPage, responses=responses(503))
async def search_stock(query: Annotated[StockQuery, Query()], index: Stock) -> StockPage:
    """Stock per variant and warehouse, from the stock index (kept by the stream within
    a second of each change): words in the SKU, product name or brand; `warehouse` and
    `brand` repeat for any of several; `category` is a slug at any depth; `below_line`
    keeps SKUs whose available units in every warehouse together are below their
    low-stock line (or those at or above it). Facets by warehouse and brand."""
    return await index.search(query)


@router.get("/inventory/{sku}", response_model=StockOut, responses=responses(404))
async def get_stock(sku: SkuPath, session: Session) -> StockOut:
    return await service.stock_of(session, sku)


@router.patch("/inventory/{sku}/stock", response_model=StockOut, responses=responses(404, 409))
async def change_stock(sku: SkuPath, change: StockChange, session: Session) -> StockOut:
    """Set (`quantity`) or adjust (`delta`) one warehouse's stock, with a reason for the ledger."""
    return await service.adjust_stock(session, sku, change)


@router.get(
    "/inventory/{sku}/low-stock-threshold", response_model=ThresholdOut, responses=responses(404)
)
async def get_threshold(sku: SkuPath, session: Session, request: Request) -> ThresholdOut:
    """Below this many available units, staff are pushed a low-stock alert (once per fall)."""
    return await alerts.threshold_of(session, sku, _default(request))


@router.put(
    "/inventory/{sku}/low-stock-threshold", response_model=ThresholdOut, responses=responses(404)
)
async def set_threshold(sku: SkuPath, line: ThresholdIn, session: Session) -> ThresholdOut:
    return await alerts.set_threshold(session, sku, line.threshold)


@router.delete(
    "/inventory/{sku}/low-stock-threshold", response_model=ThresholdOut, responses=responses(404)
)
async def reset_threshold(sku: SkuPath, session: Session, request: Request) -> ThresholdOut:
    """Back to the shop's default (STOREFRONT_LOW_STOCK_ALERT_BELOW)."""
    return await alerts.reset_threshold(session, sku, _default(request))


def _default(request: Request) -> int:
    return int(request.app.state.settings.low_stock_alert_below)


@router.get("/warehouses", response_model=list[WarehouseOut])
async def list_warehouses(session: Session) -> list[WarehouseOut]:
    return await service.list_warehouses(session)
