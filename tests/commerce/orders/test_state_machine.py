"""A hypothesis state machine over checkout on the real stack: shoppers add, check out, pay,
get declined, cancel, let reservations expire; staff restock and move orders along. After
every step: on_hand = available + reserved with 0 <= reserved <= on_hand, the ledger sums
to the stock, held units equal the open reservations, and every order moved legally."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import text

from bootstrap.settings import Settings
from bootstrap.wiring import redis_client
from commerce.carts import service as carts
from commerce.carts.schemas import CartItemIn
from commerce.catalog import service as catalog
from commerce.catalog.schemas import ProductIn
from commerce.currency.pricing import Pricing
from commerce.currency.rates import shipped_snapshot
from commerce.db import create_engine, session_factory, transaction
from commerce.errors import DomainError
from commerce.inventory.schemas import StockChange
from commerce.inventory.service import adjust_stock
from commerce.orders import service as orders
from commerce.orders.checkout import Checkout, UnpaidCaps, place_order
from commerce.orders.schemas import OrderIn
from commerce.payments.provider import PaymentProvider
from tests.checkout import ADDRESS, CUSTOMERS

T = TypeVar("T")
WAREHOUSES = ("berlin", "dallas")
ORDER = OrderIn.model_validate({"shipping_address": ADDRESS})

STOCK = text("""
SELECT l.variant_id, sum(l.on_hand) AS on_hand, sum(l.reserved) AS reserved,
       bool_and(l.reserved >= 0 AND l.reserved <= l.on_hand) AS within,
       (SELECT coalesce(sum(delta), 0) FROM stock_movements m WHERE m.variant_id = l.variant_id)
         AS ledger_on_hand,
       (SELECT coalesce(sum(reserved_delta), 0) FROM stock_movements m
         WHERE m.variant_id = l.variant_id) AS ledger_reserved,
       (SELECT coalesce(sum(quantity), 0) FROM reservations r
         WHERE r.variant_id = l.variant_id AND r.state = 'RESERVED') AS held
FROM stock_levels l WHERE l.variant_id = ANY(CAST(:variants AS uuid[]))
GROUP BY l.variant_id
""")


class Checkouts(RuleBasedStateMachine):
    stack: Settings  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.stack.require("database_url"), pool_size=5)
        self.sessions = session_factory(self.engine)
        self.redis = redis_client(self.stack)
        self.http = httpx.AsyncClient(base_url=self.stack.payments_endpoint)
        self.provider = PaymentProvider(self.http)
        # The saga's states, not the unpaid caps (tests/api/test_orders.py has those).
        self.checkout = Checkout(
            self.sessions,
            self.redis,
            shipped_snapshot(),
            hold=timedelta(minutes=15),
            hold_unpaid=timedelta(minutes=15),
            caps=UnpaidCaps(per_customer=10**6, per_address=10**6),
        )
        self.shoppers = [uuid.uuid4() for _ in range(3)]
        self.product, self.variants = self.run(self._setup())
        self.statuses: dict[uuid.UUID, str] = {}

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def _setup(self) -> tuple[uuid.UUID, list[str]]:
        sku = f"SM-{uuid.uuid4().hex[:8]}"
        async with transaction(self.sessions) as session:
            await session.execute(CUSTOMERS, {"ids": self.shoppers})
            product = await catalog.create_product(
                session,
                ProductIn.model_validate(
                    {
                        "sku": sku,
                        "name": "State Machine Mug",
                        "brand": "Acme",
                        "category": "camping",
                        "price": "8.00",
                        "options": ["colour"],
                        "variants": [
                            {"sku": f"{sku}-R", "options": {"colour": "red"}},
                            {"sku": f"{sku}-B", "options": {"colour": "blue"}},
                        ],
                    }
                ),
            )
            for variant in product.variants:
                await adjust_stock(
                    session, variant.sku, StockChange(warehouse="berlin", quantity=3, reason="t")
                )
        return product.id, [str(v.id) for v in product.variants]

    def teardown(self) -> None:
        async def close() -> None:
            await self.http.aclose()
            await self.redis.aclose()
            await self.engine.dispose()

        self.run(close())
        self.loop.close()

    async def _attempt(self, work: Coroutine[Any, Any, object]) -> None:
        """A step a shopper or staff may be refused (4xx): refused is a fine outcome."""
        with contextlib.suppress(DomainError):
            await work

    def _orders(self) -> list[uuid.UUID]:
        return sorted(self.statuses)

    @rule(shopper=st.integers(0, 2), variant=st.integers(0, 1), quantity=st.integers(1, 4))
    def add(self, shopper: int, variant: int, quantity: int) -> None:
        async def add() -> None:
            async with transaction(self.sessions) as session:
                item = CartItemIn(
                    product_id=self.product,
                    variant_id=uuid.UUID(self.variants[variant]),
                    quantity=quantity,
                )
                await carts.add_item(
                    session, self.redis, self.shoppers[shopper], item, Pricing.base()
                )

        self.run(self._attempt(add()))

    @rule(shopper=st.integers(0, 2))
    def check_out(self, shopper: int) -> None:
        async def check_out() -> None:
            owner = self.shoppers[shopper]
            order = await place_order(
                self.checkout, owner, ORDER, "USD", str(uuid.uuid4()), f"shopper-{owner}"
            )
            self.statuses[order.id] = "PENDING"

        self.run(self._attempt(check_out()))

    @precondition(lambda self: self.statuses)
    @rule(pick=st.integers(0, 100), token=st.sampled_from(["tok_visa", "tok_declined"]))
    def pay(self, pick: int, token: str) -> None:
        order_id = self._orders()[pick % len(self.statuses)]

        async def pay() -> None:
            async with transaction(self.sessions) as session:
                owner = await session.scalar(
                    text("SELECT customer_id FROM orders WHERE id = :id"), {"id": order_id}
                )
                _, payment = await orders.pay(session, self.provider, order_id, owner, token)
            # the saga's step, as the worker runs it (it may get there first: then a no-op)
            async with transaction(self.sessions) as session:
                if payment.status == "SUCCEEDED":
                    await orders.confirm_paid(session, order_id)
                else:
                    await orders.fail_unpaid(session, order_id, payment.failure)

        self.run(self._attempt(pay()))

    @precondition(lambda self: self.statuses)
    @rule(pick=st.integers(0, 100))
    def cancel(self, pick: int) -> None:
        order_id = self._orders()[pick % len(self.statuses)]

        async def cancel() -> None:
            async with transaction(self.sessions) as session:
                await orders.cancel(session, order_id, uuid.uuid4(), staff=True, reason="t")

        self.run(self._attempt(cancel()))

    @precondition(lambda self: self.statuses)
    @rule(pick=st.integers(0, 100))
    def expire(self, pick: int) -> None:
        order_id = self._orders()[pick % len(self.statuses)]

        async def expire() -> None:
            async with transaction(self.sessions) as session:
                await session.execute(
                    text("UPDATE orders SET expires_at = :past WHERE id = :id AND paid_at IS NULL"),
                    {"past": datetime.now(UTC) - timedelta(seconds=1), "id": order_id},
                )
            async with transaction(self.sessions) as session:
                await orders.expire_due(session, now=datetime.now(UTC))

        self.run(expire())

    @precondition(lambda self: self.statuses)
    @rule(
        pick=st.integers(0, 100),
        status=st.sampled_from(["PROCESSING", "SHIPPED", "DELIVERED"]),
    )
    def staff_move(self, pick: int, status: str) -> None:
        order_id = self._orders()[pick % len(self.statuses)]

        async def move() -> None:
            async with transaction(self.sessions) as session:
                await orders.change_status(session, order_id, status)

        self.run(self._attempt(move()))

    @rule(variant=st.integers(0, 1), warehouse=st.sampled_from(WAREHOUSES), units=st.integers(1, 3))
    def restock(self, variant: int, warehouse: str, units: int) -> None:
        async def restock() -> None:
            async with transaction(self.sessions) as session:
                sku = await session.scalar(
                    text("SELECT sku FROM product_variants WHERE id = :id"),
                    {"id": uuid.UUID(self.variants[variant])},
                )
                change = StockChange(warehouse=warehouse, delta=units, reason="delivery")
                await adjust_stock(session, str(sku), change)

        self.run(restock())

    @invariant()
    def stock_adds_up(self) -> None:
        async def read() -> list[Any]:
            async with self.sessions() as session:
                ids = [uuid.UUID(v) for v in self.variants]
                return list((await session.execute(STOCK, {"variants": ids})).mappings())

        for row in self.run(read()):
            assert row["within"], row
            assert row["on_hand"] == row["ledger_on_hand"], row
            assert row["reserved"] == row["ledger_reserved"] == row["held"], row

    @invariant()
    def orders_moved_legally(self) -> None:
        async def read() -> dict[uuid.UUID, str]:
            async with self.sessions() as session:
                rows = await session.execute(
                    text("SELECT id, status FROM orders WHERE id = ANY(CAST(:ids AS uuid[]))"),
                    {"ids": self._orders()},
                )
                return {row[0]: row[1] for row in rows}

        for order_id, status in self.run(read()).items():
            before = self.statuses[order_id]
            assert status == before or _reachable(before, status), (before, status)
            self.statuses[order_id] = status


def _reachable(start: str, end: str) -> bool:
    """`end` follows `start` by legal moves (the saga may make several between looks)."""
    from commerce.orders.states import NEXT, Status

    seen, frontier = set(), [Status(start)]
    while frontier:
        current = frontier.pop()
        for following in NEXT[current]:
            if following == Status(end):
                return True
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return False


@pytest.mark.usefixtures("reference")
def test_checkout_state_machine(settings: Settings) -> None:
    Checkouts.stack = settings
    machine = Checkouts.TestCase
    machine.settings = hypothesis_settings(
        max_examples=12,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine().runTest()
