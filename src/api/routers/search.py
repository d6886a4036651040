"""Product search: text, filters, facets, sort and paging over the search index."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from prometheus_client import Histogram

from api.deps import SearchResults
from api.problems import responses
from api.search_request import SearchRequest, openapi_parameters, search_request
from commerce.currency.money import BASE_CURRENCY
from commerce.events import SearchPerformed
from search.query import ProductQuery, SearchResult, Suggestions

router = APIRouter(prefix="/api", tags=["search"])

SEARCH_SECONDS = Histogram(
    "storefront_search_duration_seconds",
    "Time to answer one search (text, filters, facets, page), from the result cache or the engine.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


@router.get(
    "/search",
    response_model=SearchResult,
    responses=responses(422, 503),
    openapi_extra={"parameters": openapi_parameters()},
)
async def search_products(search: Annotated[SearchRequest, Depends(search_request)]) -> Response:
    """Text, filters, facets, sort and a page of products.

    Words match names over brands and categories over descriptions, stemmed (`lamps` finds
    `lamp`), accent-blind, with typos allowed by length (none up to 3 letters, 1 up to 7,
    2 beyond) and the shop's synonyms (`tv` finds `television`).

    Filters: OR within one (`brand=Acme&brand=Beam`), AND across. `category` includes its
    subcategories. `option=size:M&option=size:L&option=colour:blue`: products with a variant
    in size M or L and blue (attributes such as colour count as every variant's); with
    `in_stock=true`, that variant must be in stock.

    Facets count over every filter except their own, so a shopper who picked a brand still
    sees the others. Category counts include the subtree and name each parent.

    `currency=EUR` (or `Accept-Currency`) shows prices in euros, and `price_min`/`price_max`
    and the price buckets (with round edges) are then in euros too; `rate_date` says which
    day's rate was used. `sort=best_selling` ranks by units sold in the last 30 days.

    Searches are recorded for analytics (query, filters, result count, latency; up to
    `SEARCH_ANALYTICS_PER_MINUTE` an address), with the shopper's `X-Session-Id` when the
    client sends one (the session id of `POST /api/events`), so searches, clicks and orders
    join into one funnel.
    """
    params = search.params
    query = ProductQuery(
        q=params.q,
        brands=tuple(sorted(set(params.brand))),
        categories=tuple(sorted(set(params.category))),
        currency=search.scale.currency,
        price_min=params.price_min,
        price_max=params.price_max,
        in_stock=params.in_stock,
        options=option_filters(params.option),
        sort=params.sort,
        page=params.page,
        size=params.size,
    )
    started = time.perf_counter()
    answer = await search.results.search_json(query, search.scale)
    elapsed = time.perf_counter() - started
    SEARCH_SECONDS.observe(elapsed)
    search.searches.record(
        SearchPerformed(
            # Random enough to tell searches apart, without a system call per search.
            search_id=uuid.UUID(int=random.getrandbits(128), version=4),
            answered_at=datetime.now(UTC),
            session_id=search.session_id,
            query=params.q,
            filters=_given_filters(query),
            sort=params.sort.value,
            page=params.page,
            results=answer.total,
            latency_ms=round(elapsed * 1000, 3),
        ),
        search.address,
    )
    # JSON straight from the cache: validating and re-serialising it would cost more than
    # the cache saves.
    return Response(answer.json, media_type="application/json")


@router.get("/search/suggest", response_model=Suggestions, responses=responses(422, 503))
async def suggest(
    results: SearchResults, q: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """Completions while a shopper types: up to 3 brands and 3 categories with a word
    starting with the last word typed, and products (with the other words too) to make 10.
    From 4 letters on, the last word may be one letter off. Cheap enough for every keystroke
    (answered from memory until the index or the tuning changes)."""
    return Response(await results.suggest_json(q.strip()), media_type="application/json")


def _given_filters(query: ProductQuery) -> dict[str, Any]:
    """The filters the shopper set, JSON-ready; unset ones left out."""
    chosen = query.model_dump(
        mode="json",
        include={
            "brands",
            "categories",
            "currency",
            "price_min",
            "price_max",
            "in_stock",
            "options",
        },
    )
    if chosen["currency"] == BASE_CURRENCY:
        del chosen["currency"]
    return {name: value for name, value in chosen.items() if value not in (None, [], {}, ())}


def option_filters(given: list[str]) -> dict[str, tuple[str, ...]]:
    """`["size:M", "size:L"]` -> `{"size": ("L", "M")}`: names case-folded, sorted (one
    cache key per filter, whatever order a client sends)."""
    values: dict[str, set[str]] = {}
    for pair in given:
        name, _, value = pair.partition(":")
        values.setdefault(name.strip().casefold(), set()).add(value.strip())
    return {name: tuple(sorted(values[name])) for name in sorted(values)}
