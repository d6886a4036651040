"""Cached search results last exactly one index generation (real tantivy index)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import orjson

from commerce.merchandising.schemas import SynonymIn
from search.plan import EngineResult, SearchPlan
from search.prices import PriceScale
from search.query import ProductQuery
from search.result_cache import SearchResultCache
from search.tantivy_backend import TantivyBackend
from search.tuning import FixedTuning, tuning_of
from tests.search.contract import doc


class CountingBackend:
    """The real backend, counting how often the engine is actually asked."""

    def __init__(self, backend: TantivyBackend) -> None:
        self.backend = backend
        self.searches = 0

    def generation(self) -> str | None:
        return self.backend.generation()

    async def run(self, plan: SearchPlan) -> EngineResult:
        self.searches += 1
        return await self.backend.run(plan)


async def test_a_repeated_query_is_answered_once_per_generation(embedded: TantivyBackend) -> None:
    await embedded.apply([doc("Copper Kettle")])
    counting = CountingBackend(embedded)
    tuning = FixedTuning()
    cache = SearchResultCache(counting, tuning)  # type: ignore[arg-type]
    query, usd = ProductQuery(q="kettle"), PriceScale()

    first = orjson.loads((await cache.search_json(query, usd)).json)
    again = orjson.loads((await cache.search_json(query, usd)).json)
    assert first == again and first["total"] == 1
    assert counting.searches == 1

    await embedded.apply([doc("Steel Kettle")])  # a commit: a new generation

    fresh = orjson.loads((await cache.search_json(query, usd)).json)
    assert fresh["total"] == 2
    assert counting.searches == 2
    smaller = await cache.search_json(ProductQuery(q="kettle", size=5), usd)
    assert orjson.loads(smaller.json)["size"] == 5
    assert counting.searches == 3, "another query is another entry"

    tuning.tuning = tuning_of([], [SynonymIn(terms=["kettle", "pot"])], [])
    await cache.search_json(query, usd)
    assert counting.searches == 4, "new synonyms or rules are a new generation"
    euros = PriceScale("EUR", Decimal("0.9"), date(2026, 11, 20))
    in_euros = orjson.loads(
        (await cache.search_json(query.model_copy(update={"currency": "EUR"}), euros)).json
    )
    assert in_euros["currency"] == "EUR" and counting.searches == 5
