"""Cached search results last exactly one index generation (real tantivy index)."""

from __future__ import annotations

import orjson

from search.query import ProductQuery
from search.result_cache import SearchResultCache
from search.tantivy_backend import TantivyBackend
from tests.search.test_tantivy_backend import backend, doc

__all__ = ["backend"]  # the fixture, shared with the backend tests


class CountingBackend:
    """The real backend, counting how often the engine is actually asked."""

    def __init__(self, backend: TantivyBackend) -> None:
        self.backend = backend
        self.searches = 0

    def generation(self) -> str | None:
        return self.backend.generation()

    async def search(self, query: ProductQuery):  # type: ignore[no-untyped-def]
        self.searches += 1
        return await self.backend.search(query)


async def test_a_repeated_query_is_answered_once_per_generation(backend: TantivyBackend) -> None:
    await backend.apply([doc("Copper Kettle")])
    counting = CountingBackend(backend)
    cache = SearchResultCache(counting)  # type: ignore[arg-type]
    query = ProductQuery(q="kettle")

    first = orjson.loads((await cache.search_json(query)).json)
    again = orjson.loads((await cache.search_json(query)).json)
    assert first == again and first["total"] == 1
    assert counting.searches == 1

    await backend.apply([doc("Steel Kettle")])  # a commit: a new generation

    fresh = orjson.loads((await cache.search_json(query)).json)
    assert fresh["total"] == 2
    assert counting.searches == 2
    smaller = await cache.search_json(ProductQuery(q="kettle", size=5))
    assert orjson.loads(smaller.json)["size"] == 5
    assert counting.searches == 3, "another query is another entry"
