"""Repeated searches answered from memory until the index changes.

A shop's traffic is mostly its top queries and first pages. Each API process keeps the JSON
of its recent results keyed by the query and the index generation, which changes with every
commit the worker makes: a cached answer is never older than what a search would see now.
A backend that cannot tell its generation is not cached.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import LRUCache

from commerce.metrics import count_lookup
from search.backend import SearchBackend
from search.query import ProductQuery


@dataclass(frozen=True)
class Answer:
    """A search result as the JSON sent, and how many products matched (for analytics)."""

    json: bytes
    total: int


class SearchResultCache:
    def __init__(self, backend: SearchBackend, size: int = 4096) -> None:
        self.backend = backend
        self._results: LRUCache[tuple[str, str], Answer] = LRUCache(maxsize=size)

    async def search_json(self, query: ProductQuery) -> Answer:
        """The result of `query` as JSON, computed at most once per index generation."""
        generation = self.backend.generation()
        if generation is None or not self._results.maxsize:
            return await self._answer(query)
        key = (generation, query.model_dump_json())
        answer = self._results.get(key)
        count_lookup("search_results", hit=answer is not None)
        if answer is None:
            answer = self._results[key] = await self._answer(query)
        return answer

    async def _answer(self, query: ProductQuery) -> Answer:
        result = await self.backend.search(query)
        return Answer(result.model_dump_json().encode(), result.total)
