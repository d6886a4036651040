"""Carts in Redis: one JSON document per shopper, expiring 7 days after its last change.

Changes are optimistic transactions (WATCH/MULTI): two requests changing one cart at once
cannot both add to what they read, so the limits hold; the loser re-reads and tries again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import WatchError

from commerce.carts.schemas import StoredCart

TTL = timedelta(days=7)
#: Carts holding items, scored by when they last changed: the realtime dashboard's count.
ACTIVE = "carts:active"

Change = Callable[[StoredCart], Awaitable[StoredCart]]
#: A signed-in shopper's user id, or a guest cart's key (`guest_key`).
Owner = uuid.UUID | str


def guest_key(cart_id: uuid.UUID) -> str:
    """A guest's cart lives apart from every user's: a guest cannot name a user's cart."""
    return f"guest:{cart_id}"


def _key(owner: Owner) -> str:
    return f"cart:{owner}"


async def load(redis: Redis, owner: Owner) -> StoredCart:
    raw = await redis.get(_key(owner))
    return StoredCart.model_validate_json(raw) if raw else StoredCart()


async def change(redis: Redis, owner: Owner, apply: Change) -> StoredCart:
    """Apply `apply` to the cart as stored and save the result, atomically."""
    key = _key(owner)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                cart = await apply(StoredCart.model_validate_json(raw) if raw else StoredCart())
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, cart.model_dump_json(), ex=TTL)
                if cart.items:
                    pipe.zadd(ACTIVE, {key: time.time()})
                else:
                    pipe.zrem(ACTIVE, key)
                await pipe.execute()
                return cart
            except WatchError:
                continue


async def take_ordered(redis: Redis, owner: uuid.UUID, ordered: set[uuid.UUID]) -> None:
    """After checkout: drop the lines that became the order, and the coupon it used. Lines
    another tab added meanwhile stay."""

    async def without(cart: StoredCart) -> StoredCart:
        kept = [item for item in cart.items if item.variant_id not in ordered]
        return StoredCart(items=kept, coupon=None)

    await change(redis, owner, without)


async def take(redis: Redis, owner: Owner) -> StoredCart:
    """Read and delete a cart in one step (a guest's, as it merges into an account's)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.getdel(_key(owner))
        pipe.zrem(ACTIVE, _key(owner))
        raw, _ = await pipe.execute()
    return StoredCart.model_validate_json(raw) if raw else StoredCart()


async def active_carts(redis: Redis, within: timedelta) -> int:
    """Carts with items that changed in the last `within`."""
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(ACTIVE, "-inf", now - TTL.total_seconds())
        pipe.zcount(ACTIVE, now - within.total_seconds(), "+inf")
        _, count = await pipe.execute()
    return int(count)
