"""The shopper's cart: items, quantities and one coupon code.

A signed-in shopper's cart is their account's. A guest's cart has an id, returned in the
`X-Cart-Id` response header of every cart call: send it back to keep using that cart, and
with the login request to merge it into the account's cart.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api.deps import CartOwner, ClientAddress, Prices, RedisClient, Session
from api.problems import responses
from commerce.carts import service
from commerce.carts.schemas import CartItemIn, CartItemPatch, CartOut, CouponCodeIn

router = APIRouter(tags=["cart"])

ERRORS = responses(401, 422)


@router.get("/api/cart", response_model=CartOut, responses=responses(401, 422))
async def show_cart(
    owner: CartOwner, session: Session, redis: RedisClient, prices: Prices
) -> CartOut:
    """The cart with each line's price as added and now, the coupon's discount and totals."""
    return await service.show_cart(session, redis, owner, prices)


@router.post("/api/cart/items", response_model=CartOut, responses={**ERRORS, **responses(409)})
async def add_item(
    data: CartItemIn,
    owner: CartOwner,
    session: Session,
    redis: RedisClient,
    prices: Prices,
) -> CartOut:
    """Add units of a variant (the product's only one if `variant_id` is left out); more of
    one already in the cart adds to its line. 409 when stock is short."""
    return await service.add_item(session, redis, owner, data, prices)


@router.patch(
    "/api/cart/items/{item_id}",
    response_model=CartOut,
    responses={**ERRORS, **responses(404, 409)},
)
async def set_quantity(
    item_id: uuid.UUID,
    data: CartItemPatch,
    owner: CartOwner,
    session: Session,
    redis: RedisClient,
    prices: Prices,
) -> CartOut:
    return await service.set_quantity(session, redis, owner, item_id, data.quantity, prices)


@router.delete(
    "/api/cart/items/{item_id}", response_model=CartOut, responses={**ERRORS, **responses(404)}
)
async def remove_item(
    item_id: uuid.UUID,
    owner: CartOwner,
    session: Session,
    redis: RedisClient,
    prices: Prices,
) -> CartOut:
    return await service.remove_item(session, redis, owner, item_id, prices)


@router.post("/api/cart/coupon", response_model=CartOut, responses={**ERRORS, **responses(429)})
async def apply_coupon(
    request: Request,
    data: CouponCodeIn,
    owner: CartOwner,
    session: Session,
    redis: RedisClient,
    prices: Prices,
    address: ClientAddress,
) -> CartOut:
    """Apply one code (case-insensitive; it replaces any other). A code that does not apply
    is a 422 problem whose `rule` says why: unknown, not_started, expired, usage_limit,
    per_customer_limit, empty_cart, currency, minimum_subtotal or restrictions. Each cart
    may try `COUPON_ATTEMPTS_PER_CART` codes and each address `COUPON_ATTEMPTS_PER_ADDRESS`
    in `COUPON_ATTEMPT_WINDOW_SECONDS`; then 429 with Retry-After."""
    settings = request.app.state.settings
    attempts = service.CouponAttempts(
        settings.coupon_attempts_per_cart,
        settings.coupon_attempts_per_address,
        settings.coupon_attempt_window_seconds,
    )
    return await service.apply_coupon(
        session, redis, owner, data.code, prices, address=address, attempts=attempts
    )


@router.delete("/api/cart/coupon", response_model=CartOut, responses=ERRORS)
async def remove_coupon(
    owner: CartOwner, session: Session, redis: RedisClient, prices: Prices
) -> CartOut:
    return await service.remove_coupon(session, redis, owner, prices)
