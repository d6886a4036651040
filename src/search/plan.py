"""What a backend is asked to run: a shopper's query resolved into engine terms.

`ProductQuery` is what a shopper asks; a `SearchPlan` is that query with its words expanded
by synonyms, its prices in US cents, the merchandiser's rules applied and its facets named.
Every backend compiles a plan the same way, so they answer alike (one contract suite), and
the shop's own logic (currencies, synonyms, pins) lives once, above them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum

from search.query import Sort

#: Edits a word may be off by, by its length: none up to 3 letters, 1 up to 7, 2 beyond.
TYPO_LENGTHS = ((3, 0), (7, 1))


def fuzziness(word: str) -> int:
    for longest, edits in TYPO_LENGTHS:
        if len(word) <= longest:
            return edits
    return 2


class Facet(StrEnum):
    brand = "brand"
    category = "category"
    price = "price"
    stock = "stock"
    #: One option's facet is `option:<name>`; see `option_facet`.
    option = "option"


def option_facet(name: str) -> str:
    return f"{Facet.option}:{name}"


@dataclass(frozen=True)
class Filters:
    """AND across fields, OR within one. Prices are inclusive US cents."""

    brands: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    cents_min: int | None = None
    cents_max: int | None = None
    in_stock: bool | None = None
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Products no search may show (hidden by a rule).
    exclude_ids: tuple[uuid.UUID, ...] = ()
    #: Only these products (pinned ones fetched on their own); None: any.
    only_ids: tuple[uuid.UUID, ...] | None = None

    def active(self) -> list[str]:
        """The facets whose own filter is set (each is counted without it)."""
        named = {
            Facet.brand: bool(self.brands),
            Facet.category: bool(self.categories),
            Facet.price: self.cents_min is not None or self.cents_max is not None,
            Facet.stock: self.in_stock is not None,
        }
        return [str(name) for name, on in named.items() if on] + [
            option_facet(name) for name in sorted(self.options)
        ]

    def without(self, facet: str) -> Filters:
        """These filters minus the one of `facet` (a disjunctive facet's own filter)."""
        if facet == Facet.brand:
            return replace(self, brands=())
        if facet == Facet.category:
            return replace(self, categories=())
        if facet == Facet.price:
            return replace(self, cents_min=None, cents_max=None)
        if facet == Facet.stock:
            return replace(self, in_stock=None)
        name = facet.removeprefix(f"{Facet.option}:")
        return replace(self, options={k: v for k, v in self.options.items() if k != name})


def price_ranges(edges: tuple[int, ...]) -> list[dict[str, int]]:
    """Range-aggregation buckets (Elasticsearch's shape, which tantivy takes too): below
    the first edge, between edges, at or above the last."""
    return [
        {key: value for key, value in (("from", low), ("to", high)) if value is not None}
        for low, high in zip((None, *edges), (*edges, None), strict=True)
    ]


@dataclass(frozen=True)
class Boost:
    """Adds `weight` to the score of products of a brand or in a category (subtree)."""

    field: Facet
    value: str
    weight: float


@dataclass(frozen=True)
class SearchPlan:
    #: Per word of the query, its alternatives (itself first, then synonyms); an
    #: alternative of several words is a phrase. Every word must match one alternative.
    words: tuple[tuple[tuple[str, ...], ...], ...] = ()
    #: The query as typed (an exact SKU match, and the phrase boost).
    text: str = ""
    #: How many words must match (None: every word); fewer when no product has them all.
    min_words: int | None = None
    filters: Filters = field(default_factory=Filters)
    #: Products left out of the hits and the total but counted in the facets (pinned and
    #: buried ones, placed by the merchandiser).
    hits_exclude: tuple[uuid.UUID, ...] = ()
    boosts: tuple[Boost, ...] = ()
    sort: Sort = Sort.relevance
    offset: int = 0
    size: int = 20
    #: Whether to count facets, and the inner price bucket edges in US cents.
    facets: bool = True
    price_edges: tuple[int, ...] = ()

    @property
    def skus(self) -> list[str]:
        """The SKUs the query may be: as typed, or upper-cased (`sku-0042` finds SKU-0042)."""
        return list(dict.fromkeys([self.text, self.text.upper()]))


@dataclass(frozen=True)
class EngineHit:
    id: uuid.UUID
    sku: str
    name: str
    brand: str
    category: str
    cents: int
    cents_max: int
    rating: float
    available: int
    score: float | None = None


@dataclass
class EngineFacets:
    brands: list[tuple[str, int]] = field(default_factory=list)
    #: Category paths (`home/lighting`) and the products in each subtree.
    category_paths: list[tuple[str, int]] = field(default_factory=list)
    #: One count per bucket: below the first edge, between edges, at or above the last.
    price: list[int] = field(default_factory=list)
    options: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    in_stock: int = 0
    out_of_stock: int = 0


def by_option(keys_and_counts: list[tuple[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """`size=M` facet terms grouped by option name, in the order given (most first)."""
    grouped: dict[str, list[tuple[str, int]]] = {}
    for key, count in keys_and_counts:
        name, _, value = key.partition("=")
        grouped.setdefault(name, []).append((value, count))
    return grouped


@dataclass
class EngineResult:
    hits: list[EngineHit]
    total: int
    facets: EngineFacets | None = None


#: A prefix this long or longer may be one edit off.
SUGGEST_TYPOS_FROM = 4


@dataclass(frozen=True)
class SuggestPlan:
    """Completions of what a shopper is typing: `words` complete, `prefix` the last word so
    far (typo-tolerant from SUGGEST_TYPOS_FROM letters)."""

    words: tuple[tuple[tuple[str, ...], ...], ...]
    prefix: str
    #: Complete words (or phrases) the prefix may also stand for: synonyms of the words it
    #: starts (`sneak` -> trainers).
    prefix_synonyms: tuple[tuple[str, ...], ...] = ()
    products: int = 10
    brands: int = 3
    categories: int = 3

    @property
    def prefix_edits(self) -> int:
        return 1 if len(self.prefix) >= SUGGEST_TYPOS_FROM else 0


@dataclass
class EngineSuggestions:
    products: list[EngineHit] = field(default_factory=list)
    brands: list[tuple[str, int]] = field(default_factory=list)
    category_paths: list[tuple[str, int]] = field(default_factory=list)
