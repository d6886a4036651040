"""The browse cache never keeps what was loaded before an invalidation (real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from redis.asyncio import Redis

from commerce.catalog.cache import CatalogCache
from commerce.catalog.schemas import ProductOut
from commerce.pages import Page
from tests.conftest import eventually


def product(product_id: uuid.UUID, available: int) -> ProductOut:
    now = datetime.now(UTC)
    return ProductOut(
        id=product_id,
        sku="CACHE-1",
        name="Lantern",
        description="",
        brand="Acme",
        category="camping",
        category_path="outdoor/camping",
        price=Decimal("10.00"),
        currency="USD",
        rating=4.0,
        attributes={},
        available=available,
        in_stock=available > 0,
        created_at=now,
        updated_at=now,
        version=1,
        options=[],
        variants=[],
    )


async def test_a_page_loaded_before_an_invalidation_is_not_served_after_it(redis: Redis) -> None:
    cache = CatalogCache(redis)
    params = f"brand={uuid.uuid4().hex}"
    product_id = uuid.uuid4()

    async def load_then_stock_changes() -> Page[ProductOut]:
        stale = Page[ProductOut](items=[product(product_id, 3)], total=1, page=1, size=20)
        await cache.invalidate([product_id])  # the worker drops the cache while we load
        return stale

    async def load_current() -> Page[ProductOut]:
        return Page[ProductOut](items=[product(product_id, 9)], total=1, page=1, size=20)

    first = Page[ProductOut].model_validate_json(await cache.page(params, load_then_stock_changes))
    second = Page[ProductOut].model_validate_json(await cache.page(params, load_current))
    third = Page[ProductOut].model_validate_json(await cache.page(params, load_then_stock_changes))

    assert first.items[0].available == 3  # the request that raced gets what it read
    assert second.items[0].available == 9  # the next one does not see the stale page
    assert third.items[0].available == 9  # and the current page is cached


async def test_an_item_loaded_before_an_invalidation_is_not_cached(redis: Redis) -> None:
    cache = CatalogCache(redis)
    product_id = uuid.uuid4()

    async def load_then_stock_changes() -> ProductOut:
        await cache.invalidate([product_id])
        return product(product_id, 3)

    async def load_current() -> ProductOut:
        return product(product_id, 9)

    async def must_not_load() -> ProductOut:
        raise AssertionError("served from the cache, not loaded")

    await cache.item(product_id, load_then_stock_changes)
    current = ProductOut.model_validate_json(await cache.item(product_id, load_current))
    cached = ProductOut.model_validate_json(await cache.item(product_id, must_not_load))
    assert current.available == cached.available == 9


async def test_a_following_process_serves_from_memory_until_an_invalidation(
    redis: Redis,
) -> None:
    follower, worker = CatalogCache(redis), CatalogCache(redis)
    following = asyncio.create_task(follower.follow_invalidations())
    try:
        await eventually(
            lambda: asyncio.sleep(0, follower.followed_generation),
            lambda generation: generation is not None,
        )
        params = f"brand={uuid.uuid4().hex}"
        product_id = uuid.uuid4()
        loads: list[int] = []

        def loader(available: int) -> Callable[[], Awaitable[Page[ProductOut]]]:
            async def load() -> Page[ProductOut]:
                loads.append(available)
                return Page[ProductOut](
                    items=[product(product_id, available)], total=1, page=1, size=20
                )

            return load

        await follower.page(params, loader(3))
        await redis.delete(*[key async for key in redis.scan_iter("catalog:list:*:*")])
        cached = Page[ProductOut].model_validate_json(await follower.page(params, loader(4)))
        assert cached.items[0].available == 3, "served from memory: Redis no longer has it"

        before = follower.followed_generation
        await worker.invalidate([product_id])
        await eventually(
            lambda: asyncio.sleep(0, follower.followed_generation),
            lambda generation: generation != before,
        )
        fresh = Page[ProductOut].model_validate_json(await follower.page(params, loader(9)))
        assert fresh.items[0].available == 9
        assert loads == [3, 9]
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
