"""The stock index: one document per variant and warehouse, for staff who look for stock.

Kept by the stream from stock, catalog and low-stock-line events; answered by tantivy on the
embedded stack and by the Elasticsearch API in production (`search.stock_engines`). A SKU's
`below_line` is about its available units in every warehouse together, as its low-stock
alert is: each of its warehouses' documents says the same.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FACET_SIZE = 50
WarehouseCode = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00]+$")
]
BrandName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
CategoryName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]


class StockDocument(BaseModel):
    key: str
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    product_name: str
    brand: str
    category_path: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int
    #: The SKU's low-stock line (its own, or the shop's default: `line_is_own`).
    low_stock_line: int
    line_is_own: bool
    #: The SKU's available units in every warehouse together.
    sku_available: int
    below_line: bool
    last_movement_at: datetime | None

    @property
    def category_slugs(self) -> list[str]:
        return self.category_path.split("/")


class StockSort(StrEnum):
    relevance = "relevance"
    sku = "sku"
    available = "available"
    available_desc = "-available"
    last_movement = "last_movement"
    last_movement_desc = "-last_movement"


class StockQuery(BaseModel):
    """`GET /api/admin/inventory/search`: words in SKU, product name or brand; repeat
    `warehouse` or `brand` for any of them; `category` is a slug at any depth."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, Field(max_length=200)] = ""
    warehouse: Annotated[list[WarehouseCode], Field(max_length=20)] = []
    brand: Annotated[list[BrandName], Field(max_length=20)] = []
    category: CategoryName | None = None
    below_line: bool | None = None
    sort: StockSort = StockSort.relevance
    page: Annotated[int, Field(ge=1, le=500)] = 1
    size: Annotated[int, Field(ge=1, le=100)] = 20

    @property
    def words(self) -> list[str]:
        """Lowercase letter-and-digit runs: what both engines' analyzers index."""
        return re.findall(r"[a-z0-9]+", self.q.lower())[:20]

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


class FacetCount(BaseModel):
    value: str
    count: int


class StockFacets(BaseModel):
    """Counted with every filter but the facet's own (pick a second warehouse or brand)."""

    warehouses: list[FacetCount] = []
    brands: list[FacetCount] = []


class StockPage(BaseModel):
    items: list[StockDocument]
    total: int
    page: int
    size: int
    facets: StockFacets


class StockRow(Protocol):
    """One variant's stock in one warehouse as commerce reads it (its inventory repository's
    rows have these fields; search takes them by shape, not by import)."""

    @property
    def product_id(self) -> uuid.UUID: ...
    @property
    def variant_id(self) -> uuid.UUID: ...
    @property
    def sku(self) -> str: ...
    @property
    def product_name(self) -> str: ...
    @property
    def brand(self) -> str: ...
    @property
    def category_path(self) -> str: ...
    @property
    def warehouse(self) -> str: ...
    @property
    def on_hand(self) -> int: ...
    @property
    def reserved(self) -> int: ...
    @property
    def own_line(self) -> int | None: ...
    @property
    def sku_available(self) -> int: ...
    @property
    def last_movement_at(self) -> datetime | None: ...


class StockIndex(Protocol):
    async def replace_products(
        self, product_ids: Sequence[uuid.UUID], documents: Sequence[StockDocument]
    ) -> None:
        """Make these products' documents exactly `documents` (none: the products are gone),
        visible to searches when this returns."""
        ...

    async def search(self, query: StockQuery) -> StockPage: ...

    async def document_count(self) -> int: ...

    async def ensure_index(self) -> bool:
        """Make the index exist; True if it was created now (empty: fill it)."""
        ...

    async def close(self) -> None: ...


def stock_documents(rows: Iterable[StockRow], default_line: int) -> list[StockDocument]:
    documents = []
    for row in rows:
        line = default_line if row.own_line is None else row.own_line
        documents.append(
            StockDocument(
                key=f"{row.variant_id}:{row.warehouse}",
                product_id=row.product_id,
                variant_id=row.variant_id,
                sku=row.sku,
                product_name=row.product_name,
                brand=row.brand,
                category_path=row.category_path,
                warehouse=row.warehouse,
                on_hand=row.on_hand,
                reserved=row.reserved,
                available=row.on_hand - row.reserved,
                low_stock_line=line,
                line_is_own=row.own_line is not None,
                sku_available=row.sku_available,
                below_line=row.sku_available < line,
                last_movement_at=row.last_movement_at,
            )
        )
    return documents


def epoch_millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.astimezone(UTC).timestamp() * 1000)


def from_millis(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def facet_counts(buckets: Iterable[Mapping[str, Any]]) -> list[FacetCount]:
    """Aggregation buckets (both engines answer alike) as facet counts, most first."""
    counts = [FacetCount(value=str(b["key"]), count=int(b["doc_count"])) for b in buckets]
    return sorted(counts, key=lambda c: (-c.count, c.value))
