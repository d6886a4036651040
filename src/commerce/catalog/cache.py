"""Browse cache in Redis: items for 15 minutes, lists for 5, dropped on catalog or stock events.

Lists are keyed under a generation number; an event bumps the generation, so every cached
list is invalidated at once without scanning keys.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

from commerce.catalog.schemas import Page, ProductOut

GENERATION_KEY = "catalog:list:generation"


def item_key(product_id: uuid.UUID) -> str:
    return f"catalog:item:{product_id}"


class CatalogCache:
    def __init__(self, redis: Redis, *, list_ttl: int = 300, item_ttl: int = 900) -> None:
        self.redis = redis
        self.list_ttl = list_ttl
        self.item_ttl = item_ttl

    async def _list_key(self, params: str) -> str:
        generation = int(await self.redis.get(GENERATION_KEY) or 0)
        digest = hashlib.sha256(params.encode()).hexdigest()[:32]
        return f"catalog:list:{generation}:{digest}"

    async def get_list(self, params: str) -> Page[ProductOut] | None:
        raw = await self.redis.get(await self._list_key(params))
        return Page[ProductOut].model_validate_json(raw) if raw else None

    async def put_list(self, params: str, page: Page[ProductOut]) -> None:
        await self.redis.set(await self._list_key(params), page.model_dump_json(), ex=self.list_ttl)

    async def get_item(self, product_id: uuid.UUID) -> ProductOut | None:
        raw = await self.redis.get(item_key(product_id))
        return ProductOut.model_validate_json(raw) if raw else None

    async def put_item(self, product: ProductOut) -> None:
        await self.redis.set(item_key(product.id), product.model_dump_json(), ex=self.item_ttl)

    async def invalidate(self, product_ids: Iterable[uuid.UUID]) -> None:
        """Drop these products' entries and every cached list."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for product_id in product_ids:
                pipe.delete(item_key(product_id))
            pipe.incr(GENERATION_KEY)
            await pipe.execute()
