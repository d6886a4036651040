"""Repeated searches answered from memory until the index or the tuning changes.

A shop's traffic is mostly its top queries and first pages. Each API process keeps the JSON
of its recent results keyed by the query, the shopper's currency and rate, the index
generation (which changes with every commit the worker makes) and the tuning's: a cached
answer is never older than what a search would see now. A backend that cannot tell its
generation is not cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import LRUCache

from commerce.metrics import count_lookup
from search import service
from search.backend import SearchBackend
from search.prices import PriceScale
from search.query import ProductQuery
from search.tuning import Tunings

#: The key's scale for suggestions, which show no prices.
SUGGEST = None


@dataclass(frozen=True)
class Answer:
    """A search result as the JSON sent, and how many products matched (for analytics)."""

    json: bytes
    total: int


class SearchResultCache:
    def __init__(self, backend: SearchBackend, tuning: Tunings, size: int = 4096) -> None:
        self.backend = backend
        self.tuning = tuning
        self._results: LRUCache[tuple[str, str, PriceScale | None, str], Answer] = LRUCache(
            maxsize=size
        )

    async def search_json(self, query: ProductQuery, scale: PriceScale) -> Answer:
        """The result of `query` as JSON, computed at most once per index generation."""
        tuning = await self.tuning.current()

        async def answer() -> Answer:
            result = await service.search(self.backend, query, tuning, scale)
            return Answer(result.model_dump_json().encode(), result.total)

        key = (tuning.generation, scale, query.model_dump_json())
        return await self._cached("search_results", key, answer)

    async def suggest_json(self, typed: str) -> bytes:
        """Completions of `typed` as JSON, computed at most once per index generation."""
        tuning = await self.tuning.current()

        async def answer() -> Answer:
            found = await service.suggest(self.backend, typed, tuning)
            return Answer(found.model_dump_json().encode(), 0)

        return (
            await self._cached("search_suggestions", (tuning.generation, SUGGEST, typed), answer)
        ).json

    async def _cached(
        self,
        name: str,
        key: tuple[str, PriceScale | None, str],
        compute: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        """`compute()`'s answer under `key` and the index generation (not kept when the
        backend cannot tell its generation)."""
        generation = self.backend.generation()
        if generation is None or not self._results.maxsize:
            return await compute()
        found = self._results.get((generation, *key))
        count_lookup(name, hit=found is not None)
        if found is None:
            found = self._results[(generation, *key)] = await compute()
        return found
