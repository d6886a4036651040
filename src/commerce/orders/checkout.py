"""Checkout: the cart becomes a PENDING order with its stock held, exactly once per key.

One transaction writes the order and its lines (priced from the cart, converted at the
day's rate), redeems the cart's coupon, holds the stock and writes `order.created`; stock
comes last, so the hottest rows are locked for the least time. A Redis lock per shopper
serialises checkouts of one cart (two tabs, or one request retried): the second finds the
first's order by its key, or the cart already ordered. Answered from what was written:
nothing is read back.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import LockError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.carts import store as carts
from commerce.carts.schemas import StoredCart, StoredItem
from commerce.carts.service import live_variant
from commerce.catalog.repository import slugify
from commerce.catalog.service import current_products
from commerce.currency.rates import RateTable
from commerce.db import transaction
from commerce.errors import InvalidInput
from commerce.events import OrderLineSnapshot, OrderPlaced, ProductSnapshot, VariantSnapshot
from commerce.inventory import reservations
from commerce.orders.errors import (
    CheckoutInProgress,
    CouponNoLongerApplies,
    EmptyCart,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    LinesUnavailable,
    PricesChanged,
    TooManyUnpaidFromAddress,
    TooManyUnpaidOrders,
)
from commerce.orders.models import Order, OrderLine
from commerce.orders.repository import OrderRepository
from commerce.orders.schemas import OrderIn, OrderOut
from commerce.orders.states import Status
from commerce.orders.views import order_out, shown
from commerce.outbox import add_event
from commerce.promotions import service as coupons
from commerce.promotions.errors import CouponRejected
from commerce.promotions.schemas import Basket, BasketLine

#: A checkout holds its cart this long at most (a crashed API process lets go by then).
LOCK_SECONDS = 30
#: A retry waits this long for the first attempt to finish before answering 409.
WAIT_SECONDS = 15
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class UnpaidCaps:
    """Orders placed without a payment method that one customer, and one address, may have
    open at once: each holds stock (and maybe a coupon use) until it is paid or expires."""

    per_customer: int
    per_address: int


@dataclass(frozen=True)
class Checkout:
    """What checking out needs besides the request: the stores, the rates, how long stock is
    held (shorter for an order placed without a payment method) and the unpaid caps."""

    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    rates: RateTable
    hold: timedelta
    hold_unpaid: timedelta
    caps: UnpaidCaps


@dataclass(frozen=True)
class _Priced:
    item: StoredItem
    product: ProductSnapshot
    variant: VariantSnapshot


async def place_order(
    checkout: Checkout,
    owner: uuid.UUID,
    data: OrderIn,
    currency: str,
    key: str | None,
    address: str,
) -> OrderOut:
    """The order for this key: created now, or the one an earlier try with it created."""
    key = _checked_key(key)
    digest = request_hash(data, currency)
    lock = checkout.redis.lock(
        f"checkout:{owner}", timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS
    )
    if not await lock.acquire():
        raise CheckoutInProgress()
    try:
        if (found := await _replay(checkout.sessions, owner, key, digest)) is not None:
            return found
        cart = await carts.load(checkout.redis, owner)
        try:
            async with transaction(checkout.sessions) as session:
                order, lines = await _write(
                    session, checkout, owner, cart, data, currency, key, digest, address
                )
        except IntegrityError:
            # The lock outlived by a stalled request: the key's order exists after all.
            if (found := await _replay(checkout.sessions, owner, key, digest)) is not None:
                return found
            raise
        await carts.take_ordered(checkout.redis, owner, {item.variant_id for item in cart.items})
    finally:
        # An expired lock is not released: its token no longer matches, nobody else's goes.
        with contextlib.suppress(LockError):
            await lock.release()
    return shown(order, lines)


async def _within_unpaid_caps(
    session: AsyncSession, caps: UnpaidCaps, owner: uuid.UUID, address: str, now: datetime
) -> None:
    """Refuse another unpaid order past the customer's cap (409: pay or cancel one) or the
    address's (429: new accounts behind one address cannot hold a hot SKU's stock or a
    limited coupon's uses without end). The customer's checkouts are serialised by the
    cart lock; an address's by an advisory lock."""
    orders = OrderRepository(session)
    mine = await orders.open_unpaid(now, customer_id=owner)
    if len(mine) >= caps.per_customer:
        raise TooManyUnpaidOrders(caps.per_customer, [str(order.id) for order in mine])
    await orders.lock_placed_from(address)
    from_there = await orders.open_unpaid(now, placed_from=address)
    if len(from_there) >= caps.per_address:
        ends = (from_there[0].expires_at - now).total_seconds()
        raise TooManyUnpaidFromAddress(caps.per_address, max(1, math.ceil(ends)))


def request_hash(data: OrderIn, currency: str) -> str:
    body = {**data.model_dump(mode="json"), "currency": currency}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _checked_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise IdempotencyKeyRequired()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} chars.")
    return key.strip()


async def _replay(
    sessions: async_sessionmaker[AsyncSession], owner: uuid.UUID, key: str, digest: str
) -> OrderOut | None:
    async with sessions() as session:
        order = await OrderRepository(session).by_key(owner, key)
        if order is None:
            return None
        if order.request_hash != digest:
            raise IdempotencyKeyReused()
        return await order_out(session, order)


async def _write(
    session: AsyncSession,
    checkout: Checkout,
    owner: uuid.UUID,
    cart: StoredCart,
    data: OrderIn,
    currency: str,
    key: str,
    digest: str,
    address: str,
) -> tuple[Order, list[OrderLine]]:
    now = datetime.now(UTC)
    if data.payment_method is None:
        await _within_unpaid_caps(session, checkout.caps, owner, address, now)
    priced = await _current(session, cart, data)
    rates = checkout.rates
    order_id = uuid.uuid4()
    unit_prices = [
        rates.convert(line.variant.price_or(line.product.price), currency) for line in priced
    ]
    basket = Basket(
        currency=currency,
        customer_id=owner,
        lines=[
            BasketLine(
                product_id=line.product.id,
                category_path=line.product.category_path,
                brand=slugify(line.product.brand),
                amount=unit * line.item.quantity,
            )
            for line, unit in zip(priced, unit_prices, strict=True)
        ],
    )
    shares, discount, code = [Decimal(0)] * len(priced), Decimal(0), None
    if cart.coupon is not None:
        try:
            redeemed = await coupons.redeem(session, cart.coupon, basket, order_id=order_id)
        except CouponRejected as rejected:
            raise CouponNoLongerApplies(rejected.rule, rejected.detail) from rejected
        shares, discount, code = redeemed.line_shares, redeemed.amount, redeemed.code
    shipping = data.shipping_address.model_dump(exclude_none=True)
    hold = checkout.hold if data.payment_method else checkout.hold_unpaid
    order = Order(
        id=order_id,
        customer_id=owner,
        status=Status.PENDING,
        currency=currency,
        rate=rates.rate(currency),
        rate_date=rates.date,
        subtotal=basket.subtotal,
        discount=discount,
        total=basket.subtotal - discount,
        coupon_code=code,
        shipping_address=shipping,
        billing_address=(data.billing_address or data.shipping_address).model_dump(
            exclude_none=True
        ),
        payment_token=data.payment_method,
        idempotency_key=key,
        request_hash=digest,
        expires_at=now + hold,
        placed_from=address,
        version=1,
        created_at=now,
        updated_at=now,
    )
    lines = [
        OrderLine(
            id=uuid.uuid4(),
            order_id=order_id,
            position=position,
            product_id=line.product.id,
            variant_id=line.variant.id,
            sku=line.variant.sku,
            name=line.product.name,
            category=line.product.category,
            options=line.variant.options,
            quantity=line.item.quantity,
            unit_price=unit,
            base_unit_price=line.variant.price_or(line.product.price),
            discount=share,
            total=unit * line.item.quantity - share,
            returned_quantity=0,
        )
        for position, (line, unit, share) in enumerate(
            zip(priced, unit_prices, shares, strict=True)
        )
    ]
    # Written as plain inserts, the objects kept only to answer with: the session's unit of
    # work cost more than the statements (a tenth of the API's CPU in a checkout). Written
    # before the stock rows are locked: a hot SKU's row is held only for the stock's own
    # statements and the commit, not for these inserts too.
    await session.execute(insert(Order), [_row(order)])
    await session.execute(insert(OrderLine), [_row(line) for line in lines])
    add_event(session, "order.created", order_id, 1, placed_event(order, lines))
    await reservations.reserve(
        session,
        order_id,
        [
            reservations.Want(line.id, line.product_id, line.variant_id, line.sku, line.quantity)
            for line in lines
        ],
    )
    return order, lines


def _row(written: Order | OrderLine) -> dict[str, Any]:
    return {column.key: getattr(written, column.key) for column in _COLUMNS[type(written)]}


_COLUMNS = {model: model.__mapper__.column_attrs for model in (Order, OrderLine)}


async def _current(session: AsyncSession, cart: StoredCart, data: OrderIn) -> list[_Priced]:
    """The cart's lines with today's catalog: 409 for lines gone or repriced unacknowledged."""
    if not cart.items:
        raise EmptyCart()
    catalog = await current_products(session, list({item.product_id for item in cart.items}))
    priced: list[_Priced] = []
    gone: list[str] = []
    changed: list[dict[str, object]] = []
    for item in cart.items:
        product = catalog.get(item.product_id, (None, {}))[0]
        variant = live_variant(product, item.variant_id)
        if product is None or variant is None:
            gone.append(str(item.variant_id))
            continue
        current = variant.price_or(product.price)
        if current != item.unit_price and data.acknowledged_prices.get(item.variant_id) != current:
            changed.append(
                {
                    "item_id": str(item.variant_id),
                    "sku": variant.sku,
                    "unit_price": str(item.unit_price),
                    "current_price": str(current),
                }
            )
        priced.append(_Priced(item, product, variant))
    if gone:
        raise LinesUnavailable(gone)
    if changed:
        raise PricesChanged(changed)
    return priced


def placed_event(order: Order, lines: Sequence[OrderLine]) -> OrderPlaced:
    """order.created as the order was placed (its payment token, if any, not yet spent)."""
    return OrderPlaced(
        order_id=order.id,
        customer_id=order.customer_id,
        currency=order.currency,
        rate=order.rate,
        rate_date=order.rate_date,
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        coupon_code=order.coupon_code,
        lines=[
            OrderLineSnapshot(
                line_id=line.id,
                product_id=line.product_id,
                variant_id=line.variant_id,
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                total=line.total,
            )
            for line in lines
        ],
        pays_now=order.payment_token is not None,
        expires_at=order.expires_at,
    )
