"""Helpers for checkout tests: customers in bulk, carts filled directly, and the ledger's
invariants read straight from PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.carts import store
from commerce.carts.schemas import StoredCart, StoredItem
from commerce.db import transaction

ADDRESS = {
    "name": "Sam Shopper",
    "line1": "1 Market Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "us",
}

CUSTOMERS = text("""
INSERT INTO users (id, email, password_hash, first_name, last_name, role_id, active)
SELECT id, 'c-' || id || '@load.example.com', 'not-a-hash', 'Load', 'Tester',
       (SELECT id FROM roles WHERE name = 'CUSTOMER'), true
FROM unnest(CAST(:ids AS uuid[])) AS id
""")

#: Stock rows whose on_hand or reserved differ from the sums of their ledger rows, or
#: that break 0 <= reserved <= on_hand.
LEDGER_BROKEN = text("""
SELECT l.variant_id, l.warehouse_id, l.on_hand, l.reserved,
       coalesce(sum(m.delta), 0) AS ledger_on_hand,
       coalesce(sum(m.reserved_delta), 0) AS ledger_reserved
FROM stock_levels l
LEFT JOIN stock_movements m ON m.variant_id = l.variant_id AND m.warehouse_id = l.warehouse_id
WHERE l.variant_id = ANY(CAST(:variants AS uuid[]))
GROUP BY l.variant_id, l.warehouse_id, l.on_hand, l.reserved
HAVING l.on_hand <> coalesce(sum(m.delta), 0)
    OR l.reserved <> coalesce(sum(m.reserved_delta), 0)
    OR l.reserved < 0 OR l.reserved > l.on_hand
""")


async def customers(sessions: async_sessionmaker[AsyncSession], count: int) -> list[uuid.UUID]:
    """`count` customer accounts, written in one statement (no password hashing)."""
    ids = [uuid.uuid4() for _ in range(count)]
    async with transaction(sessions) as session:
        await session.execute(CUSTOMERS, {"ids": ids})
    return ids


async def fill_cart(
    redis: Redis,
    owner: uuid.UUID,
    product: dict[str, Any],
    quantity: int = 1,
    *,
    variant: int = 0,
    coupon: str | None = None,
) -> None:
    chosen = product["variants"][variant]
    item = StoredItem(
        variant_id=uuid.UUID(chosen["id"]),
        product_id=uuid.UUID(product["id"]),
        quantity=quantity,
        unit_price=Decimal(str(chosen["price"])),
        added_at=datetime.now(UTC),
    )

    async def put(cart: StoredCart) -> StoredCart:
        return StoredCart(items=[item], coupon=coupon)

    await store.change(redis, owner, put)


async def ledger_broken(
    sessions: async_sessionmaker[AsyncSession], variant_ids: list[str]
) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            LEDGER_BROKEN, {"variants": [uuid.UUID(v) for v in variant_ids]}
        )
        return [dict(row) for row in rows.mappings()]


async def stock_totals(
    sessions: async_sessionmaker[AsyncSession], variant_id: str
) -> tuple[int, int]:
    """(on hand, reserved) of a variant over every warehouse."""
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0) "
                    "FROM stock_levels WHERE variant_id = :v"
                ),
                {"v": uuid.UUID(variant_id)},
            )
        ).one()
        return int(row[0]), int(row[1])
