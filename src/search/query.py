"""The one query model every search backend compiles: text, filters, facets, sort, page."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_RESULT_WINDOW = 10_000
MAX_OPTION_COMBINATIONS = 64
TOKEN = re.compile(r"\w+", re.UNICODE)

#: Upper edges of the price facet's buckets (USD); the last bucket is open-ended.
PRICE_BUCKET_EDGES = (25, 50, 100, 250, 500, 1000)


def price_buckets() -> list[tuple[Decimal | None, Decimal | None]]:
    """(min, max) of each price bucket, in order; None is open-ended."""
    edges: list[Decimal | None] = [None, *(Decimal(edge) for edge in PRICE_BUCKET_EDGES), None]
    return list(itertools.pairwise(edges))


class Sort(StrEnum):
    relevance = "relevance"
    price_asc = "price_asc"
    price_desc = "price_desc"
    newest = "newest"
    rating = "rating"


class ProductQuery(BaseModel):
    """What a shopper asks for; validated at the edge, so backends can trust it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    brands: tuple[Annotated[str, StringConstraints(min_length=1, max_length=120)], ...] = ()
    category: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")] | None = None
    price_min: Annotated[Decimal, Field(ge=0, le=Decimal(10**9))] | None = None
    price_max: Annotated[Decimal, Field(ge=0, le=Decimal(10**9))] | None = None
    in_stock: bool | None = None
    #: Option values a variant must have: {"size": ("M", "L")} (any of those sizes); with
    #: `in_stock`, a variant with them must be in stock.
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
        return [token.lower() for token in TOKEN.findall(self.q)][:12]


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
    #: The lowest price of its variants (what "from" shows, sorts and filters on).
    price: Decimal
    rating: float
    #: Available units over every variant.
    available: int
    created_at: datetime
    version: int
    variants: list[DocumentVariant] = Field(default_factory=list)

    @property
    def in_stock(self) -> bool:
        return self.available > 0

    @property
    def price_max(self) -> Decimal:
        return max([self.price, *(variant.price for variant in self.variants)])

    def option_values(self, *, in_stock: bool = False) -> list[str]:
        """Facet terms, `name=value` (name case-folded), of all or of in-stock variants."""
        return sorted(
            {
                f"{name.casefold()}={value}"
                for variant in self.variants
                if variant.available > 0 or not in_stock
                for name, value in variant.options.items()
            }
        )

    def option_combinations(self, *, in_stock: bool = False) -> list[str]:
        """Filter terms: every combination of one variant's values (see `combination`)."""
        found: set[str] = set()
        for variant in self.variants:
            if in_stock and variant.available <= 0:
                continue
            pairs = sorted(variant.options.items())
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


class PriceBucket(BaseModel):
    min: Decimal | None
    max: Decimal | None
    count: int


class Facets(BaseModel):
    brands: list[FacetCount]
    categories: list[FacetCount]
    price: list[PriceBucket]
    #: Per option name (case-folded), products with each value (in stock, with `in_stock`).
    options: dict[str, list[FacetCount]] = Field(default_factory=dict)


class SearchResult(BaseModel):
    items: list[ProductHit]
    total: int
    page: int
    size: int
    facets: Facets
