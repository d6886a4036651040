"""Stock held for orders: reserve at checkout, then sell, release, restock or take back.

Every change locks the variants' stock rows (in one order: variant, then warehouse, so two
checkouts cannot deadlock), moves `on_hand`/`reserved` and writes a ledger row and a stock
event. The table's checks keep `0 <= reserved <= on_hand`: no code path can oversell.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import column_values
from commerce.inventory.errors import OutOfStock
from commerce.inventory.ledger import movement_event
from commerce.inventory.models import Reservation, StockLevel, StockMovement
from commerce.inventory.repository import InventoryRepository
from commerce.outbox import add_event

RESERVED, SOLD, RELEASED, RESTOCKED = "RESERVED", "SOLD", "RELEASED", "RESTOCKED"
EVENT_OF = {
    "RESERVED": "stock.reserved",
    "RELEASED": "stock.released",
    "SOLD": "stock.committed",
    "RESTOCKED": "stock.restocked",
    "RETURNED": "stock.returned",
}


@dataclass(frozen=True)
class Want:
    """One order line's units of a variant, to be held."""

    line_id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    quantity: int


@dataclass(frozen=True)
class _Move:
    order_id: uuid.UUID
    level: StockLevel
    sku: str
    kind: str
    delta: int
    reserved_delta: int


Levels = dict[uuid.UUID, list[StockLevel]]


@dataclass(frozen=True)
class _Locked:
    """Variants' stock rows, locked, and the codes of their warehouses."""

    levels: Levels
    codes: dict[int, str]


async def reserve(session: AsyncSession, order_id: uuid.UUID, wants: Sequence[Want]) -> None:
    """Hold every line's units, from the warehouses that have them, or none (409 naming
    each short line and what it has)."""
    locked = await _lock(session, [want.variant_id for want in wants])
    levels = locked.levels
    plans, shortages = [], []
    for want in wants:
        plan = _allocate(levels.get(want.variant_id, []), want.quantity)
        if plan is None:
            available = sum(_free(level) for level in levels.get(want.variant_id, []))
            shortages.append(
                {
                    "item_id": str(want.variant_id),
                    "sku": want.sku,
                    "wanted": want.quantity,
                    "available": available,
                }
            )
        plans.append((want, plan or []))
    if shortages:
        raise OutOfStock(shortages)
    moves = []
    for want, plan in plans:
        for level, quantity in plan:
            level.reserved += quantity
            session.add(
                Reservation(
                    order_id=order_id,
                    line_id=want.line_id,
                    product_id=want.product_id,
                    variant_id=want.variant_id,
                    sku=want.sku,
                    warehouse_id=level.warehouse_id,
                    quantity=quantity,
                    state=RESERVED,
                    returned=0,
                )
            )
            moves.append(_Move(order_id, level, want.sku, RESERVED, 0, quantity))
    await _record(session, moves, locked)


async def release(session: AsyncSession, order_id: uuid.UUID) -> int:
    """Give back the units an unpaid order holds; returns how many."""
    return await _settle(session, [order_id], RESERVED, RELEASED)


async def commit(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> int:
    """The orders are paid: their held units leave stock for good; returns how many.

    Several orders' stock rows are locked together, once: a hot SKU's row is the queue every
    checkout and every confirmation of it waits in, so confirming a batch of orders takes
    it once, not once an order.
    """
    return await _settle(session, order_ids, RESERVED, SOLD)


async def restock(session: AsyncSession, order_id: uuid.UUID) -> int:
    """A paid order was cancelled before it shipped: its units go back on the shelf."""
    return await _settle(session, [order_id], SOLD, RESTOCKED)


async def take_back(
    session: AsyncSession, order_id: uuid.UUID, returned: dict[uuid.UUID, int]
) -> None:
    """Returned units (by order line) go back to the warehouses they were sold from."""
    held = await InventoryRepository(session).lock_reservations([order_id], SOLD)
    locked = await _lock(session, [r.variant_id for r in held])
    left = dict(returned)
    moves = []
    for reservation in held:
        quantity = min(left.get(reservation.line_id, 0), _unreturned(reservation))
        if quantity <= 0:
            continue
        left[reservation.line_id] -= quantity
        reservation.returned += quantity
        level = _level(locked.levels, reservation)
        level.on_hand += quantity
        moves.append(_Move(order_id, level, reservation.sku, "RETURNED", quantity, 0))
    await _record(session, moves, locked)


async def _settle(
    session: AsyncSession, order_ids: Sequence[uuid.UUID], before: str, after: str
) -> int:
    held = await InventoryRepository(session).lock_reservations(order_ids, before)
    locked = await _lock(session, [r.variant_id for r in held])
    moves = []
    for reservation in held:
        level = _level(locked.levels, reservation)
        units = _unreturned(reservation) if after == RESTOCKED else reservation.quantity
        delta, reserved_delta = {
            RELEASED: (0, -units),
            SOLD: (-units, -units),
            RESTOCKED: (units, 0),
        }[after]
        level.on_hand += delta
        level.reserved += reserved_delta
        reservation.state = after
        moves.append(
            _Move(reservation.order_id, level, reservation.sku, after, delta, reserved_delta)
        )
    await _record(session, moves, locked)
    return sum(abs(move.delta or move.reserved_delta) for move in moves)


def _allocate(levels: list[StockLevel], quantity: int) -> list[tuple[StockLevel, int]] | None:
    """One warehouse that has it all if there is one (one parcel), else the fullest first."""
    by_free = sorted(levels, key=lambda level: (-_free(level), level.warehouse_id))
    whole = [level for level in by_free if _free(level) >= quantity]
    if whole:
        return [(whole[-1], quantity)]  # the one that has it with the least left over
    plan, left = [], quantity
    for level in by_free:
        take = min(left, _free(level))
        if take > 0:
            plan.append((level, take))
            left -= take
    return plan if left == 0 else None


def _free(level: StockLevel) -> int:
    return level.on_hand - level.reserved


def _unreturned(reservation: Reservation) -> int:
    return reservation.quantity - reservation.returned


def _level(levels: Levels, reservation: Reservation) -> StockLevel:
    return next(
        level
        for level in levels[reservation.variant_id]
        if level.warehouse_id == reservation.warehouse_id
    )


async def _lock(session: AsyncSession, variant_ids: Sequence[uuid.UUID]) -> _Locked:
    locked = _Locked(defaultdict(list), {})
    for level, code in await InventoryRepository(session).lock_levels(variant_ids):
        locked.levels[level.variant_id].append(level)
        locked.codes[level.warehouse_id] = code
    return locked


async def _record(session: AsyncSession, moves: list[_Move], locked: _Locked) -> None:
    """The ledger rows and stock events of these moves (after the levels changed)."""
    if not moves:
        return
    movements = [
        StockMovement(
            product_id=move.level.product_id,
            variant_id=move.level.variant_id,
            warehouse_id=move.level.warehouse_id,
            delta=move.delta,
            reserved_delta=move.reserved_delta,
            on_hand_after=move.level.on_hand,
            kind=move.kind,
            reason=f"order {move.order_id}",
            order_id=move.order_id,
        )
        for move in moves
    ]
    session.add_all(movements)
    await session.flush()
    for move, movement in zip(moves, movements, strict=True):
        available = sum(_free(level) for level in locked.levels[move.level.variant_id])
        warehouse = locked.codes[move.level.warehouse_id]
        event = movement_event(column_values(movement), move.sku, warehouse, available)
        add_event(session, EVENT_OF[move.kind], move.sku, movement.id, event)
