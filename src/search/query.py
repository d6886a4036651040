"""The one query model every search backend compiles: text, filters, facets, sort, page."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from commerce.catalog.schemas import Slug
from commerce.currency.money import BASE_CURRENCY, SUPPORTED
from commerce.merchandising.schemas import BrandName
from commerce.words import words

MAX_RESULT_WINDOW = 10_000
MAX_OPTION_COMBINATIONS = 64

CategorySlug = Slug
CURRENCY_PATTERN = f"^({'|'.join(SUPPORTED)})$"


class Sort(StrEnum):
    relevance = "relevance"
    price_asc = "price_asc"
    price_desc = "price_desc"
    newest = "newest"
    rating = "rating"
    #: Units sold in the last 30 days, most first.
    best_selling = "best_selling"


class ProductQuery(BaseModel):
    """What a shopper asks for; validated at the edge, so backends can trust it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    #: Any of these brands (OR); sorted, so one filter is one cache key.
    brands: tuple[BrandName, ...] = Field(default=(), max_length=20)
    #: Any of these categories or their subcategories (OR).
    categories: tuple[CategorySlug, ...] = Field(default=(), max_length=20)
    #: The currency of the price bounds, the prices shown and the price buckets.
    currency: str = Field(default=BASE_CURRENCY, pattern=CURRENCY_PATTERN)
    price_min: Annotated[Decimal, Field(ge=0, le=Decimal(10**9))] | None = None
    price_max: Annotated[Decimal, Field(ge=0, le=Decimal(10**9))] | None = None
    in_stock: bool | None = None
    #: Attribute or option values a variant must have: {"size": ("M", "L")} (any of those
    #: sizes); with `in_stock`, a variant with them must be in stock.
    options: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=32)],
        tuple[Annotated[str, StringConstraints(min_length=1, max_length=64)], ...],
    ] = Field(default_factory=dict, max_length=3)
    sort: Sort = Sort.relevance
    page: Annotated[int, Field(ge=1, le=500)] = 1
    size: Annotated[int, Field(ge=1, le=100)] = 20

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            raise ValueError("price_min must not be greater than price_max")
        if len(wanted_combinations(self.options)) > MAX_OPTION_COMBINATIONS:
            raise ValueError(f"at most {MAX_OPTION_COMBINATIONS} option value combinations")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise ValueError(f"page * size must not exceed {MAX_RESULT_WINDOW}")
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def terms(self) -> list[str]:
        """The lower-cased words of `q`, at most 12 (longer queries add noise, not recall)."""
        return words(self.q)


class DocumentVariant(BaseModel):
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal
    available: int


class ProductDocument(BaseModel):
    """One product as the search index holds it: once, with its variants' options."""

    id: uuid.UUID
    sku: str
    name: str
    description: str = ""
    brand: str
    category: str
    category_path: str
    #: The lowest price of its variants (what "from" shows, sorts and filters on), USD.
    price: Decimal
    rating: float
    #: Available units over every variant.
    available: int
    created_at: datetime
    version: int
    #: The product's attributes (colour, material …): every variant has them.
    attributes: dict[str, str] = Field(default_factory=dict)
    variants: list[DocumentVariant] = Field(default_factory=list)
    #: Units sold in the last 30 days (best-selling sort).
    units_sold: int = 0

    @property
    def in_stock(self) -> bool:
        return self.available > 0

    @property
    def price_max(self) -> Decimal:
        return max([self.price, *(variant.price for variant in self.variants)])

    def category_paths(self) -> list[str]:
        """The product's category and every ancestor, as paths: `home`, `home/lighting`."""
        slugs = self.category_path.split("/")
        return ["/".join(slugs[: depth + 1]) for depth in range(len(slugs))]

    def _values(self, *, in_stock: bool) -> list[dict[str, str]]:
        """Each variant's attributes and options (a variant's option wins over an attribute)."""
        if not self.variants:
            return [self.attributes] if self.attributes and (self.in_stock or not in_stock) else []
        return [
            {**self.attributes, **variant.options}
            for variant in self.variants
            if variant.available > 0 or not in_stock
        ]

    def option_values(self, *, in_stock: bool = False) -> list[str]:
        """Facet terms, `name=value` (name case-folded), of all or of in-stock variants."""
        return sorted(
            {
                f"{name.casefold()}={value}"
                for values in self._values(in_stock=in_stock)
                for name, value in values.items()
            }
        )

    def option_combinations(self, *, in_stock: bool = False) -> list[str]:
        """Filter terms: every combination of one variant's values (see `combination`)."""
        found: set[str] = set()
        for values in self._values(in_stock=in_stock):
            pairs = sorted(values.items())
            for size in range(1, len(pairs) + 1):
                found.update(combination(dict(c)) for c in itertools.combinations(pairs, size))
        return sorted(found)


def combination(values: dict[str, str]) -> str:
    """One variant's values for some options as one term: case-folded, sorted by name."""
    pairs = sorted((name.casefold(), value.casefold()) for name, value in values.items())
    return "|".join(f"{name}={value}" for name, value in pairs)


def wanted_combinations(options: dict[str, tuple[str, ...]]) -> list[str]:
    """The terms a product must have one of: OR within an option, AND across options."""
    names = sorted(options)
    return [
        combination(dict(zip(names, values, strict=True)))
        for values in itertools.product(*(options[name] for name in names))
    ]


class ProductHit(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    brand: str
    category: str
    price: Decimal
    price_max: Decimal
    rating: float
    available: int
    in_stock: bool
    score: float | None = None


class FacetCount(BaseModel):
    value: str
    count: int


class CategoryCount(BaseModel):
    """A category and the products in its whole subtree."""

    value: str
    count: int
    #: Slugs from the root: `home/lighting`.
    path: str
    parent: str | None


class PriceBucket(BaseModel):
    """Products whose shown price is at least `min` and below `max` (None: open-ended)."""

    min: Decimal | None
    max: Decimal | None
    count: int


class StockCounts(BaseModel):
    in_stock: int
    out_of_stock: int


class Facets(BaseModel):
    """Each facet counts the products matching every filter except its own, so a shopper
    who picked one brand still sees the others to add."""

    brands: list[FacetCount]
    categories: list[CategoryCount]
    price: list[PriceBucket]
    #: Per attribute or option name (case-folded), products with each value (in stock,
    #: with `in_stock`).
    options: dict[str, list[FacetCount]] = Field(default_factory=dict)
    stock: StockCounts


class SearchResult(BaseModel):
    items: list[ProductHit]
    total: int
    page: int
    size: int
    #: The currency of every price here; `rate_date` is the day of the rate used (None for
    #: US dollars, which are not converted).
    currency: str
    rate_date: date | None
    facets: Facets
    #: False when no product has every word of the query and these products have some
    #: (most first): a shop can say "showing results for some of your words".
    all_words_matched: bool = True


class ProductSuggestion(BaseModel):
    id: uuid.UUID
    name: str
    brand: str
    category: str


class CategorySuggestion(BaseModel):
    value: str
    path: str
    count: int


class Suggestions(BaseModel):
    """Completions of a partly typed query: at most 10 in all."""

    q: str
    products: list[ProductSuggestion]
    brands: list[FacetCount]
    categories: list[CategorySuggestion]
