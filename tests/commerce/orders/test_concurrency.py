"""Checkout under contention, on the real PostgreSQL and Redis: no oversell however many
shoppers race for the last units, one order per idempotency key however often it is
retried, and a payment event delivered twice confirms once."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import Envelope, PaymentRecorded
from commerce.inventory.errors import OutOfStock
from commerce.inventory.models import StockMovement
from commerce.orders.checkout import Checkout, place_order
from commerce.orders.errors import CheckoutInProgress, EmptyCart
from commerce.orders.models import Order
from commerce.orders.schemas import OrderIn, OrderOut
from commerce.orders.service import cancel
from streams import handlers
from streams.consumers import run_together
from streams.steps import ORDERS, saga
from tests.api.test_cart import tee
from tests.checkout import ADDRESS, customers, fill_cart, ledger_broken, stock_totals
from tests.factories import set_stock

pytestmark = pytest.mark.usefixtures("reference")

ORDER = OrderIn.model_validate({"shipping_address": ADDRESS})


async def test_200_shoppers_racing_for_50_units_in_two_warehouses_never_oversell(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    product = await tee(client, admin, stock=0)
    variant = product["variants"][0]
    await set_stock(client, admin, variant["sku"], 30, warehouse="berlin")
    await set_stock(client, admin, variant["sku"], 20, warehouse="dallas")
    shoppers = await customers(sessions, 200)
    for owner in shoppers:
        await fill_cart(redis, owner, product)

    async def one(owner: uuid.UUID) -> OrderOut | OutOfStock:
        try:
            return await place_order(
                checkout, owner, ORDER, "USD", f"k-{owner}", f"shopper-{owner}"
            )
        except OutOfStock as short:
            return short

    outcomes = await asyncio.gather(*(one(owner) for owner in shoppers))

    orders = [o for o in outcomes if isinstance(o, OrderOut)]
    assert len(orders) == 50
    assert all(isinstance(o, OutOfStock) for o in outcomes if not isinstance(o, OrderOut))
    assert await stock_totals(sessions, variant["id"]) == (50, 50)
    assert await ledger_broken(sessions, [variant["id"]]) == []
    async with sessions() as session:
        sold = await session.scalar(
            select(func.sum(StockMovement.reserved_delta)).where(
                StockMovement.variant_id == uuid.UUID(variant["id"]),
                StockMovement.kind == "RESERVED",
            )
        )
    assert sold == 50


async def test_one_checkout_retried_20_times_at_once_makes_one_order(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    product = await tee(client, admin, stock=10)
    (owner,) = await customers(sessions, 1)
    await fill_cart(redis, owner, product, 2)

    placed = await asyncio.gather(
        *(
            place_order(checkout, owner, ORDER, "USD", "one-key", f"shopper-{owner}")
            for _ in range(20)
        )
    )

    assert len({order.id for order in placed}) == 1
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Order.customer_id == owner))
    assert count == 1
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (10, 2)


async def test_two_tabs_with_two_keys_make_one_order_and_a_409(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    product = await tee(client, admin, stock=10)
    (owner,) = await customers(sessions, 1)
    await fill_cart(redis, owner, product, 2)

    outcomes = await asyncio.gather(
        place_order(checkout, owner, ORDER, "USD", "tab-1", f"shopper-{owner}"),
        place_order(checkout, owner, ORDER, "USD", "tab-2", f"shopper-{owner}"),
        return_exceptions=True,
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["EmptyCart", "OrderOut"]
    assert all(isinstance(o, OrderOut | EmptyCart | CheckoutInProgress) for o in outcomes)
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (10, 2)
    assert await redis.get(f"checkout:{owner}") is None  # the cart is not stuck


def payment_event(order: OrderOut, status: str) -> Envelope:
    return Envelope(
        type=f"payment.{'succeeded' if status == 'SUCCEEDED' else 'failed'}",
        aggregate_id=str(order.id),
        aggregate_version=1,
        payload=PaymentRecorded(
            payment_id=uuid.uuid4(),
            order_id=order.id,
            amount=order.total,
            currency="USD",
            status=status,
        ).model_dump(mode="json"),
        seq=-int(uuid.uuid4().int % 10**12),  # not in the outbox: only this test delivers it
    )


async def test_a_batch_of_payments_confirms_each_order_in_turn_and_sells_its_stock_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    """Confirmations of one SKU in one unit of work (its stock row locked once); a failure
    between them is applied in its place, and an order cancelled meanwhile stays so."""
    product = await tee(client, admin, stock=10)
    variant = product["variants"][0]["id"]
    owners = await customers(sessions, 4)
    placed = []
    for owner in owners:
        await fill_cart(redis, owner, product, 2)
        placed.append(
            await place_order(checkout, owner, ORDER, "USD", f"batch-{owner}", f"shopper-{owner}")
        )
    first, failing, cancelled, last = placed
    async with transaction(sessions) as session:
        await cancel(session, cancelled.id, uuid.uuid4(), staff=True, reason="changed my mind")
    orders = saga(ORDERS, handlers.steps_of(ORDERS), together=handlers.together_of(ORDERS))
    assert orders.steps is not None
    batch = [
        payment_event(first, "SUCCEEDED"),
        payment_event(failing, "FAILED"),
        payment_event(cancelled, "SUCCEEDED"),
        payment_event(last, "SUCCEEDED"),
    ]

    applied = await run_together(sessions, f"{ORDERS}-batch-test", orders.steps, batch)

    assert applied == batch
    async with sessions() as session:
        statuses = {
            order_id: status
            for order_id, status in await session.execute(
                select(Order.id, Order.status).where(Order.id.in_([o.id for o in placed]))
            )
        }
        sold = await session.scalar(
            select(func.count()).where(
                StockMovement.variant_id == uuid.UUID(variant), StockMovement.kind == "SOLD"
            )
        )
    assert statuses == {
        first.id: "CONFIRMED",
        failing.id: "FAILED",
        cancelled.id: "CANCELLED",
        last.id: "CONFIRMED",
    }
    assert sold == 2
    assert await stock_totals(sessions, variant) == (6, 0), "two orders of 2 sold, 4 let go"


async def test_a_payment_event_delivered_twice_confirms_once_and_sells_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    product = await tee(client, admin, stock=5)
    (owner,) = await customers(sessions, 1)
    await fill_cart(redis, owner, product, 3)
    order = await place_order(checkout, owner, ORDER, "USD", "pay-twice", f"shopper-{owner}")
    paid = payment_event(order, "SUCCEEDED")
    orders = saga(ORDERS, handlers.steps_of(ORDERS), together=handlers.together_of(ORDERS))
    assert orders.steps is not None, "confirmations are taken in batches"
    name = f"{ORDERS}-twice-test"

    twice = (
        run_together(sessions, name, orders.steps, [paid]),
        run_together(sessions, name, orders.steps, [paid]),
    )
    applied = await asyncio.gather(*twice)

    assert sorted(len(done) for done in applied) == [0, 1]
    async with sessions() as session:
        stored = await session.get(Order, order.id)
        assert stored is not None and stored.status == "CONFIRMED" and stored.version == 2
        sold = await session.scalar(
            select(func.count()).where(
                StockMovement.order_id == order.id, StockMovement.kind == "SOLD"
            )
        )
    assert sold == 1
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (2, 0)
    assert Decimal(order.total) == Decimal("60.00")
