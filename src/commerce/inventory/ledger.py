"""The stock ledger: the one way a ledger row becomes its event (`movement_event`), and the
first stock of new variants in bulk (stock rows, ledger rows and their stock.adjusted events)
for every caller that creates stocked products at scale (the CSV import, the demo catalog).
Single changes go through `inventory.service.adjust_stock`, orders' through `reservations`."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import copy_rows
from commerce.events import StockAdjusted
from commerce.inventory.models import StockLevel, StockMovement
from commerce.outbox import outbox_row


class FirstStock(NamedTuple):
    """Units of a new variant in one warehouse, counted at `at`."""

    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    warehouse_id: int
    warehouse: str
    units: int
    at: datetime


def movement_event(
    movement: Mapping[str, Any], sku: str, warehouse: str, available: int
) -> StockAdjusted:
    """A ledger row's event (its columns by name, as `column_values` gives an ORM row):
    what moved in which warehouse, and how many of the SKU are left to sell."""
    return StockAdjusted(
        movement_id=movement["id"],
        product_id=movement["product_id"],
        variant_id=movement["variant_id"],
        sku=sku,
        warehouse=warehouse,
        delta=movement["delta"],
        on_hand=movement["on_hand_after"],
        available=available,
        reason=movement["reason"],
        reserved_delta=movement.get("reserved_delta") or 0,
        order_id=movement.get("order_id"),
    )


async def record_first_stock(
    session: AsyncSession, stock: Sequence[FirstStock], reason: str
) -> list[dict[str, Any]]:
    """Write the stock and ledger rows; return the stock.adjusted outbox rows (the caller
    writes them with its other events, in order after its product.created)."""
    if not stock:
        return []
    await copy_rows(
        session,
        StockLevel,
        [
            {
                "variant_id": s.variant_id,
                "product_id": s.product_id,
                "warehouse_id": s.warehouse_id,
                "on_hand": s.units,
                "reserved": 0,
            }
            for s in stock
        ],
    )
    ids = list(
        await session.scalars(
            text("SELECT nextval('stock_movements_id_seq') FROM generate_series(1, :n)"),
            {"n": len(stock)},
        )
    )
    rows, events, available = [], [], Counter[uuid.UUID]()
    for movement_id, s in zip(ids, stock, strict=True):
        available[s.variant_id] += s.units
        rows.append(
            {
                "id": movement_id,
                "product_id": s.product_id,
                "variant_id": s.variant_id,
                "warehouse_id": s.warehouse_id,
                "delta": s.units,
                "on_hand_after": s.units,
                "reason": reason,
                "created_at": s.at,
            }
        )
        payload = movement_event(rows[-1], s.sku, s.warehouse, available[s.variant_id])
        events.append(outbox_row("stock.adjusted", s.sku, movement_id, payload, s.at))
    await copy_rows(session, StockMovement, rows)
    return events
