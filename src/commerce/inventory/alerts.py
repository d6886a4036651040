"""Low-stock alerts: each SKU's line (its own or the shop's), and which stock changes cross
it. A SKU alerts once when it falls below its line and again only after it came back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.events import Envelope, StockAdjusted, StockLineChanged
from commerce.inventory.errors import SkuNotFound
from commerce.inventory.repository import InventoryRepository
from commerce.inventory.schemas import LowStockCrossing, ThresholdOut
from commerce.outbox import add_event

#: The stock index keeps each SKU's line beside its stock.
LINE_CHANGED = "stock.line_changed"


async def set_threshold(session: AsyncSession, sku: str, threshold: int) -> ThresholdOut:
    found = await InventoryRepository(session).variant_for_sku(sku)
    if found is None:
        raise SkuNotFound(sku)
    await InventoryRepository(session).set_line(sku, threshold)
    _line_changed(session, sku, found, threshold)
    return ThresholdOut(sku=sku, threshold=threshold, own=True)


async def threshold_of(session: AsyncSession, sku: str, default: int) -> ThresholdOut:
    if await InventoryRepository(session).variant_for_sku(sku) is None:
        raise SkuNotFound(sku)
    own = await InventoryRepository(session).own_line(sku)
    if own is None:
        return ThresholdOut(sku=sku, threshold=default, own=False)
    return ThresholdOut(sku=sku, threshold=own.threshold, own=True)


async def reset_threshold(session: AsyncSession, sku: str, default: int) -> ThresholdOut:
    """Back to the shop's default line."""
    repo = InventoryRepository(session)
    removed = await repo.remove_line(sku)
    line = await threshold_of(session, sku, default)
    found = await repo.variant_for_sku(sku)
    if removed and found is not None:
        _line_changed(session, sku, found, None)
    return line


def _line_changed(
    session: AsyncSession, sku: str, found: tuple[uuid.UUID, uuid.UUID], threshold: int | None
) -> None:
    product_id, variant_id = found
    change = StockLineChanged(
        product_id=product_id, variant_id=variant_id, sku=sku, threshold=threshold
    )
    add_event(session, LINE_CHANGED, sku, 1, change)


async def crossings(
    session: AsyncSession, events: Sequence[Envelope], default: int
) -> list[LowStockCrossing]:
    """The stock events (in order) that take a SKU below its line while it was not already
    alerted; records the alerts, and forgets those of SKUs back at or above their line."""
    levels = [
        StockAdjusted.model_validate(e.payload) for e in events if e.type.startswith("stock.")
    ]
    if not levels:
        return []
    skus = sorted({level.sku for level in levels})
    repo = InventoryRepository(session)
    lines = await repo.own_lines(skus)
    alerted = await repo.lock_alerted(skus)
    found = []
    for level in levels:
        line = lines.get(level.sku, default)
        if level.available < line and level.sku not in alerted:
            alerted.add(level.sku)
            found.append(
                LowStockCrossing(
                    sku=level.sku,
                    product_id=level.product_id,
                    variant_id=level.variant_id,
                    available=level.available,
                    threshold=line,
                )
            )
        elif level.available >= line:
            alerted.discard(level.sku)
    await _remember(session, skus, alerted, found)
    return found


async def _remember(
    session: AsyncSession, skus: list[str], alerted: set[str], found: list[LowStockCrossing]
) -> None:
    repo = InventoryRepository(session)
    await repo.keep_alerts(skus, alerted)
    still = {c.sku: c.available for c in found if c.sku in alerted}
    if still:
        await repo.add_alerts(still)
