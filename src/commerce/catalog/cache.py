"""Browse cache in Redis: items for 15 minutes, lists for 5, dropped on catalog or stock events.

Lists are keyed under a generation number; an event bumps the generation, so every cached
list is invalidated at once without scanning keys. A request reads the generation once and
stores what it loaded under that same generation: a page read before an invalidation can
only land under the old generation, where nobody looks any more.

Items follow the same rule with a generation per product: the loaded item is stored only if
its product's generation is still the one read before loading.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis

from commerce.catalog.schemas import Page, ProductOut
from commerce.metrics import count_lookup

GENERATION_KEY = "catalog:list:generation"

PUT_IF_GENERATION = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def item_key(product_id: uuid.UUID) -> str:
    return f"catalog:item:{product_id}"


def item_generation_key(product_id: uuid.UUID) -> str:
    return f"catalog:item:{product_id}:generation"


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _text(value: bytes | str | None) -> str:
    if value is None:
        return "0"
    return value.decode() if isinstance(value, bytes) else value


class CatalogCache:
    def __init__(self, redis: Redis, *, list_ttl: int = 300, item_ttl: int = 900) -> None:
        self.redis = redis
        self.list_ttl = list_ttl
        self.item_ttl = item_ttl
        self._put_if_generation = redis.register_script(PUT_IF_GENERATION)

    async def page(self, params: str, load: Callable[[], Awaitable[Page[ProductOut]]]) -> bytes:
        """The page for `params` as JSON: cached, or `load()`'s, cached under the same generation.

        JSON, not a model: a hit is served as stored, without parsing and re-serialising it.
        """
        generation = int(await self.redis.get(GENERATION_KEY) or 0)
        digest = hashlib.sha256(params.encode()).hexdigest()[:32]
        key = f"catalog:list:{generation}:{digest}"
        raw = await self.redis.get(key)
        count_lookup("catalog_list", hit=bool(raw))
        if raw:
            return _bytes(raw)
        page = (await load()).model_dump_json().encode()
        await self.redis.set(key, page, ex=self.list_ttl)
        return page

    async def item(self, product_id: uuid.UUID, load: Callable[[], Awaitable[ProductOut]]) -> bytes:
        """The product as JSON: cached, or `load()`'s, cached unless invalidated meanwhile."""
        raw, generation = await self.redis.mget(
            item_key(product_id), item_generation_key(product_id)
        )
        count_lookup("catalog_item", hit=bool(raw))
        if raw:
            return _bytes(raw)
        product = (await load()).model_dump_json().encode()
        await self._put_if_generation(
            keys=[item_key(product_id), item_generation_key(product_id)],
            args=[_text(generation), product, self.item_ttl],
        )
        return product

    async def invalidate(self, product_ids: Iterable[uuid.UUID]) -> None:
        """Drop these products' entries and every cached list."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for product_id in product_ids:
                pipe.delete(item_key(product_id))
                pipe.incr(item_generation_key(product_id))
                pipe.expire(item_generation_key(product_id), self.item_ttl * 2)
            pipe.incr(GENERATION_KEY)
            await pipe.execute()
