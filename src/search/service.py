"""A shopper's search, start to finish: plan it, run it, place pins, show it in their currency.

Backends run plans; everything a shop decides (synonyms, the merchandiser's pins and buries,
currencies) happens here once, so every backend answers alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from rapidfuzz.distance import Levenshtein

from commerce.words import words
from search.backend import SearchBackend
from search.plan import (
    Boost,
    EngineFacets,
    EngineHit,
    EngineResult,
    Facet,
    Filters,
    SearchPlan,
    SuggestPlan,
)
from search.prices import PriceScale
from search.query import (
    CategoryCount,
    CategorySuggestion,
    FacetCount,
    Facets,
    PriceBucket,
    ProductHit,
    ProductQuery,
    ProductSuggestion,
    SearchResult,
    StockCounts,
    Suggestions,
)
from search.tuning import Tuning


@dataclass(frozen=True)
class Placement:
    """What the rules matching a query do to its hits."""

    #: (product, 1-based position), by position.
    pins: tuple[tuple[uuid.UUID, int], ...] = ()
    buried: tuple[uuid.UUID, ...] = ()
    hidden: tuple[uuid.UUID, ...] = ()
    boosts: tuple[Boost, ...] = ()


def placement(query: ProductQuery, tuning: Tuning) -> Placement:
    rules = tuning.rules_for(query.q, query.categories)
    pins: dict[uuid.UUID, int] = {}
    for rule in rules:
        for pin in rule.pin:
            pins.setdefault(pin.product_id, pin.position)
    hidden = {product for rule in rules for product in rule.hide}
    buried = {product for rule in rules for product in rule.bury} - hidden - pins.keys()
    boosts = [
        Boost(Facet.brand, boost.value, boost.weight) for r in rules for boost in r.boost_brands
    ] + [
        Boost(Facet.category, boost.value, boost.weight)
        for r in rules
        for boost in r.boost_categories
    ]
    return Placement(
        pins=tuple(sorted(((p, at) for p, at in pins.items() if p not in hidden), key=_position)),
        buried=tuple(sorted(buried)),
        hidden=tuple(sorted(hidden)),
        boosts=tuple(boosts),
    )


def _position(pin: tuple[uuid.UUID, int]) -> int:
    return pin[1]


def plan_for(
    query: ProductQuery, tuning: Tuning, scale: PriceScale, placed: Placement
) -> SearchPlan:
    filters = Filters(
        brands=tuple(sorted(query.brands)),
        categories=tuple(sorted(query.categories)),
        cents_min=None if query.price_min is None else scale.cents_from(query.price_min),
        cents_max=None if query.price_max is None else scale.cents_to(query.price_max),
        in_stock=query.in_stock,
        options=dict(query.options),
        exclude_ids=placed.hidden,
    )
    return SearchPlan(
        words=tuning.synonyms.expand(query.terms()),
        text=query.q,
        filters=filters,
        hits_exclude=(*(pin for pin, _ in placed.pins), *placed.buried),
        boosts=placed.boosts,
        sort=query.sort,
        offset=query.offset,
        size=query.size,
        price_edges=tuple(scale.cents_from(edge) for edge in scale.bucket_edges()),
    )


async def search(
    backend: SearchBackend,
    query: ProductQuery,
    tuning: Tuning | None = None,
    scale: PriceScale | None = None,
) -> SearchResult:
    """`query` as a shopper sees it: with `tuning`'s synonyms and rules, prices in `scale`
    (none and US dollars by default)."""
    tuning, scale = tuning or Tuning(), scale or PriceScale()
    placed = placement(query, tuning)
    plan = plan_for(query, tuning, scale, placed)
    hits, total, facets = await _page(backend, plan, placed)
    # Rather than nothing, the products with the most of the words (one fewer at a time).
    for fewer in range(len(plan.words) - 1, 0, -1) if total == 0 else ():
        plan = replace(plan, min_words=fewer)
        hits, total, facets = await _page(backend, plan, placed)
        if total:
            break
    result = present(query, scale, hits, total, facets)
    result.all_words_matched = plan.min_words is None
    return result


async def _page(
    backend: SearchBackend, plan: SearchPlan, placed: Placement
) -> tuple[list[EngineHit], int, EngineFacets | None]:
    if placed.pins or placed.buried:
        return await _placed(backend, plan, placed)
    answer = await backend.run(plan)
    return answer.hits, answer.total, answer.facets


async def _placed(
    backend: SearchBackend, plan: SearchPlan, placed: Placement
) -> tuple[list[EngineHit], int, EngineFacets | None]:
    """The page with pinned products at their positions and buried ones after the rest."""
    pins = await _pinned(backend, plan, placed)
    start, end = plan.offset, plan.offset + plan.size
    first = max(0, start - len(pins))
    main = await backend.run(replace(plan, offset=first, size=end - first))
    page: list[EngineHit] = []
    taken, next_pin = 0, 0
    for position in range(end):
        if next_pin < len(pins) and (pins[next_pin][1] - 1 <= position or taken >= main.total):
            hit: EngineHit | None = pins[next_pin][0]
            next_pin += 1
        elif taken < main.total:
            index = taken - first
            hit = main.hits[index] if 0 <= index < len(main.hits) else None
            taken += 1
        else:
            break
        if position >= start and hit is not None:
            page.append(hit)
    shown = main.total + len(pins)
    buried = await _buried(backend, plan, placed, max(0, start - shown), end - max(start, shown))
    page += buried.hits
    return page, shown + buried.total, main.facets


async def _pinned(
    backend: SearchBackend, plan: SearchPlan, placed: Placement
) -> list[tuple[EngineHit, int]]:
    """Pinned products that pass the shopper's filters (whatever the words), by position."""
    if not placed.pins:
        return []
    ids = tuple(pin for pin, _ in placed.pins)
    found = await backend.run(
        SearchPlan(filters=replace(plan.filters, only_ids=ids), size=len(ids), facets=False)
    )
    by_id = {hit.id: hit for hit in found.hits}
    return [(by_id[pin], at) for pin, at in placed.pins if pin in by_id]


async def _buried(
    backend: SearchBackend, plan: SearchPlan, placed: Placement, offset: int, size: int
) -> EngineResult:
    if not placed.buried:
        return EngineResult(hits=[], total=0)
    return await backend.run(
        replace(
            plan,
            filters=replace(plan.filters, only_ids=placed.buried),
            hits_exclude=(),
            offset=offset,
            size=max(0, size),
            facets=False,
        )
    )


def present(
    query: ProductQuery,
    scale: PriceScale,
    hits: list[EngineHit],
    total: int,
    facets: EngineFacets | None,
) -> SearchResult:
    return SearchResult(
        items=[_hit(hit, scale) for hit in hits],
        total=total,
        page=query.page,
        size=query.size,
        currency=scale.currency,
        rate_date=scale.rate_date,
        facets=_facets(facets or EngineFacets(), scale),
    )


def _hit(hit: EngineHit, scale: PriceScale) -> ProductHit:
    return ProductHit(
        id=hit.id,
        sku=hit.sku,
        name=hit.name,
        brand=hit.brand,
        category=hit.category,
        price=scale.shown(hit.cents),
        price_max=scale.shown(hit.cents_max),
        rating=hit.rating,
        available=hit.available,
        in_stock=hit.available > 0,
        score=hit.score,
    )


def _facets(facets: EngineFacets, scale: PriceScale) -> Facets:
    edges = scale.bucket_edges()
    bounds = list(zip([None, *edges], [*edges, None], strict=True))
    counts = facets.price or [0] * len(bounds)
    return Facets(
        brands=[FacetCount(value=value, count=count) for value, count in facets.brands],
        categories=[_category(path, count) for path, count in facets.category_paths],
        price=[
            PriceBucket(min=low, max=high, count=count)
            for (low, high), count in zip(bounds, counts, strict=True)
        ],
        options={
            name: [FacetCount(value=value, count=count) for value, count in values]
            for name, values in facets.options.items()
        },
        stock=StockCounts(in_stock=facets.in_stock, out_of_stock=facets.out_of_stock),
    )


def _category(path: str, count: int) -> CategoryCount:
    slugs = path.split("/")
    return CategoryCount(
        value=slugs[-1], count=count, path=path, parent=slugs[-2] if len(slugs) > 1 else None
    )


#: Completions shown in all; brands and categories first, products fill the rest.
MAX_SUGGESTIONS = 10
SUGGESTED_BRANDS = SUGGESTED_CATEGORIES = 3


async def suggest(backend: SearchBackend, typed: str, tuning: Tuning | None = None) -> Suggestions:
    """Completions for what a shopper has typed so far (the last word is a prefix)."""
    typed_words = words(typed)
    if not typed_words:
        return Suggestions(q=typed, products=[], brands=[], categories=[])
    tuning = tuning or Tuning()
    *complete, prefix = typed_words
    plan = SuggestPlan(
        words=tuning.synonyms.expand(complete),
        prefix=prefix,
        prefix_synonyms=tuning.synonyms.completing(prefix),
    )
    found = await backend.suggest(plan)
    brands = [
        FacetCount(value=name, count=count)
        for name, count in found.brands
        if _starts(name, prefix, plan.prefix_edits)
    ][:SUGGESTED_BRANDS]
    meant = {" ".join(synonym) for synonym in plan.prefix_synonyms}
    categories = [
        CategorySuggestion(value=path.rsplit("/", 1)[-1], path=path, count=count)
        for path, count in found.category_paths
        if _starts(name := path.rsplit("/", 1)[-1].replace("-", " "), prefix, plan.prefix_edits)
        or name in meant
    ][:SUGGESTED_CATEGORIES]
    room = MAX_SUGGESTIONS - len(brands) - len(categories)
    products = [
        ProductSuggestion(id=hit.id, name=hit.name, brand=hit.brand, category=hit.category)
        for hit in found.products[:room]
    ]
    return Suggestions(q=typed, products=products, brands=brands, categories=categories)


def _starts(name: str, prefix: str, edits: int) -> bool:
    """Whether a word of `name` starts with `prefix`, give or take `edits` edits."""
    for word in words(name):
        for length in range(max(1, len(prefix) - edits), len(prefix) + edits + 1):
            if Levenshtein.distance(prefix, word[:length], score_cutoff=edits) <= edits:
                return True
    return False
