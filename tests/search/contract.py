"""What every search backend is run with in the contract suite: documents and a search call.

The suite (tests/search/test_contract.py) runs on the embedded engine always, and on
Elasticsearch when STOREFRONT_ELASTICSEARCH_URL names a server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from search import service
from search.backend import SearchBackend
from search.prices import PriceScale
from search.query import DocumentVariant, ProductDocument, ProductQuery, SearchResult
from search.tuning import Tuning

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def doc(name: str, **fields: Any) -> ProductDocument:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "sku": f"S-{uuid.uuid4().hex[:8]}",
        "name": name,
        "description": "",
        "brand": "Acme",
        "category": "lighting",
        "category_path": "home/lighting",
        "price": Decimal("10.00"),
        "rating": 4.0,
        "available": 5,
        "created_at": NOW,
        "version": 1,
    }
    values.update(fields)
    return ProductDocument(**values)


def variant(price: str = "10.00", available: int = 1, **options: str) -> DocumentVariant:
    return DocumentVariant(options=options, price=Decimal(price), available=available)


async def find(
    backend: SearchBackend,
    tuning: Tuning | None = None,
    scale: PriceScale | None = None,
    **query: Any,
) -> SearchResult:
    """A shopper's search through the shop's whole search path."""
    return await service.search(
        backend, ProductQuery(**query), tuning or Tuning(), scale or PriceScale()
    )


async def names(backend: SearchBackend, tuning: Tuning | None = None, **query: Any) -> list[str]:
    return [hit.name for hit in (await find(backend, tuning, **query)).items]
