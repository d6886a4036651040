"""Cart use cases: add, change and remove items, apply a coupon, and show the totals.

Stock is checked when an item is added or its quantity raised; the price is taken then and
kept, so checkout can tell the shopper when it has changed instead of charging another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.carts import store
from commerce.carts.errors import (
    CartFull,
    CartItemNotFound,
    NotEnoughStock,
    QuantityLimit,
    TooManyCouponAttempts,
    UnknownProduct,
    UnknownVariant,
    VariantRequired,
)
from commerce.carts.schemas import (
    MAX_LINES,
    MAX_UNITS_PER_PRODUCT,
    CartCouponOut,
    CartItemIn,
    CartLineOut,
    CartOut,
    StoredCart,
    StoredItem,
)
from commerce.catalog.repository import slugify
from commerce.catalog.service import current_products
from commerce.currency.money import round_money
from commerce.currency.pricing import Pricing
from commerce.events import ProductSnapshot, VariantSnapshot
from commerce.promotions import service as coupons
from commerce.promotions.errors import CouponRejected
from commerce.promotions.schemas import Basket, BasketLine
from commerce.rate_limits import RateLimiter, Tier

Catalog = dict[uuid.UUID, tuple[ProductSnapshot, dict[uuid.UUID, int]]]


async def show_cart(
    session: AsyncSession, redis: Redis, owner: store.Owner, pricing: Pricing
) -> CartOut:
    return await _priced(session, await store.load(redis, owner), owner, pricing)


async def add_item(
    session: AsyncSession, redis: Redis, owner: store.Owner, data: CartItemIn, pricing: Pricing
) -> CartOut:
    catalog = await current_products(session, [data.product_id])
    product, variant, available = _for_sale(catalog, data.product_id, data.variant_id)

    async def add(cart: StoredCart) -> StoredCart:
        line = _line(cart, variant.id)
        if line is None and len(cart.items) >= MAX_LINES:
            raise CartFull(MAX_LINES)
        quantity = data.quantity + (line.quantity if line else 0)
        _check_quantity(cart, product, variant, quantity, available)
        kept = [item for item in cart.items if item.variant_id != variant.id]
        price = variant.price_or(product.price)
        added = StoredItem(
            variant_id=variant.id,
            product_id=product.id,
            quantity=quantity,
            unit_price=price,
            added_at=datetime.now(UTC),
        )
        return cart.model_copy(update={"items": [*kept, added]})

    changed = await store.change(redis, owner, add)
    return await _priced(session, changed, owner, pricing, read=catalog)


async def set_quantity(
    session: AsyncSession,
    redis: Redis,
    owner: store.Owner,
    item_id: uuid.UUID,
    quantity: int,
    pricing: Pricing,
) -> CartOut:
    cart = await store.load(redis, owner)
    line = _line(cart, item_id)
    if line is None:
        raise CartItemNotFound(item_id)
    catalog = await current_products(session, [line.product_id])
    product, variant, available = _for_sale(catalog, line.product_id, item_id)

    async def update(cart: StoredCart) -> StoredCart:
        current = _line(cart, item_id)
        if current is None:
            raise CartItemNotFound(item_id)
        if quantity > current.quantity:
            _check_quantity(cart, product, variant, quantity, available)
        changed = current.model_copy(update={"quantity": quantity})
        items = [changed if item.variant_id == item_id else item for item in cart.items]
        return cart.model_copy(update={"items": items})

    changed = await store.change(redis, owner, update)
    return await _priced(session, changed, owner, pricing, read=catalog)


async def remove_item(
    session: AsyncSession, redis: Redis, owner: store.Owner, item_id: uuid.UUID, pricing: Pricing
) -> CartOut:
    async def remove(cart: StoredCart) -> StoredCart:
        if _line(cart, item_id) is None:
            raise CartItemNotFound(item_id)
        items = [item for item in cart.items if item.variant_id != item_id]
        return cart.model_copy(update={"items": items})

    return await _priced(session, await store.change(redis, owner, remove), owner, pricing)


@dataclass(frozen=True)
class CouponAttempts:
    """Codes tried per cart and per address in a window: guessing codes is slow work."""

    per_cart: int
    per_address: int
    window_seconds: int


async def apply_coupon(
    session: AsyncSession,
    redis: Redis,
    owner: store.Owner,
    code: str,
    pricing: Pricing,
    *,
    address: str,
    attempts: CouponAttempts,
) -> CartOut:
    """Keep `code` on the cart if it applies to it now; else 422 naming the rule it fails.
    Past the attempts allowed to this cart or address, 429 until the window reopens."""
    tiers = [
        Tier(f"coupon-attempts:cart:{owner}", attempts.per_cart),
        Tier(f"coupon-attempts:address:{address}", attempts.per_address),
    ]
    if retry_after := await RateLimiter(redis).take(tiers, attempts.window_seconds):
        raise TooManyCouponAttempts(retry_after)
    cart = await store.load(redis, owner)
    basket, _ = await _basket(session, cart, owner, pricing)
    discount = await coupons.quote(session, code, basket)

    async def keep(cart: StoredCart) -> StoredCart:
        return cart.model_copy(update={"coupon": discount.code})

    return await _priced(session, await store.change(redis, owner, keep), owner, pricing)


async def remove_coupon(
    session: AsyncSession, redis: Redis, owner: store.Owner, pricing: Pricing
) -> CartOut:
    async def drop(cart: StoredCart) -> StoredCart:
        return cart.model_copy(update={"coupon": None})

    return await _priced(session, await store.change(redis, owner, drop), owner, pricing)


def _for_sale(
    catalog: Catalog, product_id: uuid.UUID, variant_id: uuid.UUID | None
) -> tuple[ProductSnapshot, VariantSnapshot, int]:
    if product_id not in catalog or catalog[product_id][0].deleted:
        raise UnknownProduct(product_id)
    product, available = catalog[product_id]
    if variant_id is None:
        if len(product.variants) != 1:
            raise VariantRequired([v.sku for v in product.variants])
        variant = product.variants[0]
    else:
        found = [v for v in product.variants if v.id == variant_id]
        if not found:
            raise UnknownVariant(variant_id)
        variant = found[0]
    return product, variant, available.get(variant.id, 0)


def _line(cart: StoredCart, variant_id: uuid.UUID) -> StoredItem | None:
    return next((item for item in cart.items if item.variant_id == variant_id), None)


def _check_quantity(
    cart: StoredCart,
    product: ProductSnapshot,
    variant: VariantSnapshot,
    quantity: int,
    available: int,
) -> None:
    others = sum(
        item.quantity
        for item in cart.items
        if item.product_id == product.id and item.variant_id != variant.id
    )
    if others + quantity > MAX_UNITS_PER_PRODUCT:
        raise QuantityLimit(MAX_UNITS_PER_PRODUCT, others + quantity)
    if quantity > available:
        raise NotEnoughStock(variant.sku, available, quantity)


async def _basket(
    session: AsyncSession,
    cart: StoredCart,
    owner: store.Owner,
    pricing: Pricing,
    read: Catalog | None = None,
) -> tuple[Basket, list[CartLineOut]]:
    """`read`: products this request has read already (not read twice)."""
    catalog = dict(read or {})
    if unread := list({item.product_id for item in cart.items} - catalog.keys()):
        catalog |= await current_products(session, unread)
    lines = [_line_out(item, catalog, pricing) for item in cart.items]
    basket = Basket(
        currency=pricing.currency,
        # a guest is no customer: per-customer codes need signing in
        customer_id=owner if isinstance(owner, uuid.UUID) else None,
        lines=[
            BasketLine(
                product_id=line.product_id,
                category_path=catalog[line.product_id][0].category_path,
                brand=slugify(catalog[line.product_id][0].brand),
                amount=line.line_total,
            )
            for line in lines
            if line.purchasable
        ],
    )
    return basket, lines


def _line_out(item: StoredItem, catalog: Catalog, pricing: Pricing) -> CartLineOut:
    product, available = catalog.get(item.product_id, (None, {}))
    variant = live_variant(product, item.variant_id)
    current = variant.price_or(product.price) if product and variant else None
    unit_price = pricing.convert(item.unit_price)
    return CartLineOut(
        id=item.variant_id,
        product_id=item.product_id,
        variant_id=item.variant_id,
        sku=variant.sku if variant else "",
        name=product.name if product else "",
        options=variant.options if variant else {},
        quantity=item.quantity,
        unit_price=unit_price,
        current_price=None if current is None else pricing.convert(current),
        price_changed=current is not None and current != item.unit_price,
        line_total=unit_price * item.quantity,
        available=available.get(item.variant_id, 0),
        purchasable=current is not None,
    )


def live_variant(product: ProductSnapshot | None, variant_id: uuid.UUID) -> VariantSnapshot | None:
    """The live variant of a product still for sale, if it is."""
    if product is None or product.deleted:
        return None
    return next((v for v in product.variants if v.id == variant_id), None)


async def _priced(
    session: AsyncSession,
    cart: StoredCart,
    owner: store.Owner,
    pricing: Pricing,
    read: Catalog | None = None,
) -> CartOut:
    basket, lines = await _basket(session, cart, owner, pricing, read)
    discount, coupon = Decimal(0), None
    if cart.coupon is not None:
        try:
            applied = await coupons.quote(session, cart.coupon, basket)
            discount, coupon = applied.amount, CartCouponOut(code=applied.code, applies=True)
        except CouponRejected as rejected:
            coupon = CartCouponOut(
                code=cart.coupon, applies=False, rule=rejected.rule, detail=rejected.detail
            )
    currency = basket.currency
    return CartOut(
        items=lines,
        currency=currency,
        rate_date=pricing.rate_date,
        subtotal=round_money(basket.subtotal, currency),
        discount=round_money(discount, currency),
        total=round_money(basket.subtotal - discount, currency),
        coupon=coupon,
        item_count=sum(line.quantity for line in lines if line.purchasable),
    )


async def merge_guest_cart(redis: Redis, guest: str, user_id: uuid.UUID) -> None:
    """At sign-in: the guest cart's lines join the account's (quantities added, at most 10
    units of a product and 100 lines), its coupon kept if the account's cart had none."""
    guest_cart = await store.take(redis, guest)
    if not guest_cart.items and guest_cart.coupon is None:
        return

    async def merged(cart: StoredCart) -> StoredCart:
        items = {item.variant_id: item for item in cart.items}
        for item in guest_cart.items:
            mine = items.get(item.variant_id)
            quantity = item.quantity + (mine.quantity if mine else 0)
            if mine is None and len(items) >= MAX_LINES:
                continue
            items[item.variant_id] = (mine or item).model_copy(update={"quantity": quantity})
        capped = _capped(list(items.values()))
        return StoredCart(items=capped, coupon=cart.coupon or guest_cart.coupon)

    await store.change(redis, user_id, merged)


def _capped(items: list[StoredItem]) -> list[StoredItem]:
    """Lines trimmed, in order, so no product has more than its 10 units."""
    left: dict[uuid.UUID, int] = {}
    kept = []
    for item in items:
        room = left.setdefault(item.product_id, MAX_UNITS_PER_PRODUCT)
        quantity = min(item.quantity, room)
        if quantity > 0:
            kept.append(item.model_copy(update={"quantity": quantity}))
            left[item.product_id] = room - quantity
    return kept
