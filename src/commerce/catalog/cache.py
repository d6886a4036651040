"""Browse cache in Redis: items for 15 minutes, lists for 5, dropped on catalog or stock events.

Lists are keyed under a generation number; an event bumps the generation, so every cached
list is invalidated at once without scanning keys. A request reads the generation once and
stores what it loaded under that same generation: a page read before an invalidation can
only land under the old generation, where nobody looks any more.

Items follow the same rule with a generation per product: the loaded item is stored only if
its product's generation is still the one read before loading.

An API process also keeps the pages it served in memory, under the generation they belong
to, and follows the generation through Redis pub/sub (each bump is published with it): a
hit then costs no round trip at all. While it cannot follow (Redis down, not started) it
serves from Redis only.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable

from cachetools import LRUCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from commerce.catalog.schemas import ProductOut
from commerce.metrics import count_lookup
from commerce.pages import Page

GENERATION_KEY = "catalog:list:generation"
INVALIDATED_CHANNEL = "catalog:list:invalidated"

# Every product's entry dropped and its generation bumped, then the list generation bumped and
# published: one round trip however many products a batch of events touched.
INVALIDATE = """
for i = 1, #KEYS - 1, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
end
local generation = redis.call('INCR', KEYS[#KEYS])
redis.call('PUBLISH', ARGV[2], generation)
return generation
"""

# The generation and the page under it, in one round trip (a request reads the generation once).
GET_PAGE = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', 'catalog:list:' .. generation .. ':' .. ARGV[1])}
"""

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
    def __init__(
        self, redis: Redis, *, list_ttl: int = 300, item_ttl: int = 900, local_pages: int = 1024
    ) -> None:
        self.redis = redis
        self.list_ttl = list_ttl
        self.item_ttl = item_ttl
        self._invalidate = redis.register_script(INVALIDATE)
        self._local: LRUCache[tuple[int, str], bytes] = LRUCache(maxsize=max(1, local_pages))
        #: The list generation as last heard from Redis; None while not following it.
        self.followed_generation: int | None = None
        self._put_if_generation = redis.register_script(PUT_IF_GENERATION)
        self._get_page = redis.register_script(GET_PAGE)

    async def page(self, params: str, load: Callable[[], Awaitable[Page[ProductOut]]]) -> bytes:
        """The page for `params` as JSON: cached, or `load()`'s, cached under the same generation.

        JSON, not a model: a hit is served as stored, without parsing and re-serialising it.
        """
        digest = hashlib.sha256(params.encode()).hexdigest()[:32]
        followed = self.followed_generation
        if followed is not None and (local := self._local.get((followed, digest))) is not None:
            count_lookup("catalog_list", hit=True)
            return local
        generation, raw = await self._get_page(keys=[GENERATION_KEY], args=[digest])
        count_lookup("catalog_list", hit=bool(raw))
        if raw:
            page = _bytes(raw)
        else:
            page = (await load()).model_dump_json().encode()
            key = f"catalog:list:{_text(generation)}:{digest}"
            await self.redis.set(key, page, ex=self.list_ttl)
        self._local[(int(_text(generation)), digest)] = page
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
        keys = [k for pid in product_ids for k in (item_key(pid), item_generation_key(pid))]
        await self._invalidate(
            keys=[*keys, GENERATION_KEY], args=[self.item_ttl * 2, INVALIDATED_CHANNEL]
        )

    async def follow_invalidations(self, retry_seconds: float = 1.0) -> None:
        """Track the list generation from Redis pub/sub, for as long as the process runs."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(INVALIDATED_CHANNEL)
                    # Subscribed first, then read: no bump can fall between the two.
                    self._local.clear()
                    self.followed_generation = int(await self.redis.get(GENERATION_KEY) or 0)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            # Forward only: a late message must not bring back an old generation.
                            current = self.followed_generation or 0
                            self.followed_generation = max(current, int(message["data"]))
            except asyncio.CancelledError:
                self.followed_generation = None
                raise
            except (RedisError, OSError):
                self.followed_generation = None  # serve from Redis until we follow again
                await asyncio.sleep(retry_seconds)
