"""Every golden search and suggestion (tests/search/golden) executed on the Elasticsearch-API
engine and on tantivy over the same catalog: the engine is sent exactly the golden bodies
(`test_elasticsearch_bodies.py` pins them), and its answers must equal tantivy's — totals,
facet counts and the set of products on the page; where a sort is asked, the order of the
sorted values too. Relevance order may differ between engines (their scores differ); the
judged queries in `test_relevance.py` grade it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bootstrap.settings import Settings
from search import service
from search.elasticsearch_backend import ElasticsearchBackend
from search.query import ProductDocument, ProductQuery, SearchResult
from search.tantivy_backend import TantivyBackend
from search.tuning import Tuning
from tests.search.conftest import ENGINE_API
from tests.search.contract import doc, variant
from tests.search.test_elasticsearch_bodies import (
    BURIED,
    HIDDEN,
    PINNED,
    SEARCHES,
    SUGGESTS,
    SYNONYMS,
)

pytestmark = pytest.mark.skipif(not ENGINE_API, reason="no Elasticsearch API to run them on")
SORTED = {"price_asc": "price", "price_desc": "price", "rating": "rating"}


def catalog() -> list[ProductDocument]:
    """Products the golden searches find: lamps, headphones, TVs, sneakers, tees, cameras,
    in several brands, categories, prices, options and stock."""
    electronics = {"category": "headphones", "category_path": "electronics/audio/headphones"}
    docs = [
        doc("Oak Desk Lamp", id=PINNED, brand="Acme", price=Decimal("49.00"), rating=4.5),
        doc("Brass Floor Lamp", id=BURIED, brand="Beam", price=Decimal("129.00"), rating=3.9),
        doc("Paper Lamp Shade", id=HIDDEN, brand="Beam", price=Decimal("19.99"), available=0),
        doc("Reading Lamp", brand="Glow", price=Decimal("24.50"), rating=4.1),
        doc("Desk Lamp with USB", brand="Acme", price=Decimal("65.00"), rating=4.8),
        doc(
            "Wireless Headphones",
            brand="Acme",
            price=Decimal("199.00"),
            **electronics,
            options=["colour"],
            variants=[variant("199.00", 3, colour="black"), variant("209.00", 0, colour="white")],
        ),
        doc("Studio Headphones", brand="Sono", price=Decimal("279.00"), **electronics),
        doc(
            "Smart Television 55",
            brand="Vista",
            price=Decimal("649.00"),
            category="tvs",
            category_path="electronics/tvs",
        ),
        doc(
            "Running Sneakers",
            brand="Stride",
            price=Decimal("89.00"),
            category="shoes",
            category_path="fashion/shoes",
            units_sold=40,
            options=["size"],
            variants=[variant("89.00", 2, size="M"), variant("89.00", 0, size="L")],
        ),
        doc(
            "Trail Shoes",
            brand="Stride",
            price=Decimal("119.00"),
            category="shoes",
            category_path="fashion/shoes",
            units_sold=12,
        ),
        doc(
            "Cotton T-Shirt",
            brand="Acme",
            price=Decimal("15.00"),
            category="shirts",
            category_path="fashion/shirts",
            options=["size", "colour"],
            variants=[
                variant("15.00", 4, size="M", colour="blue"),
                variant("15.00", 0, size="L", colour="blue"),
                variant("17.00", 1, size="L", colour="red"),
            ],
        ),
        doc(
            "Graphic Tee",
            brand="Beam",
            price=Decimal("22.00"),
            category="shirts",
            category_path="fashion/shirts",
            options=["size"],
            variants=[variant("22.00", 0, size="M")],
        ),
        doc(
            "Compact Camera",
            brand="Vista",
            price=Decimal("349.00"),
            category="cameras",
            category_path="electronics/cameras",
        ),
        doc(
            "Garden Lamp Solar",
            brand="Glow",
            price=Decimal("35.00"),
            category="garden",
            category_path="home/garden",
        ),
        doc(
            "Black Leather Jacket",
            brand="Acme",
            price=Decimal("259.00"),
            category="jackets",
            category_path="fashion/jackets",
            available=0,
        ),
    ]
    docs.append(doc("Exact Item", sku="SKU-000123", brand="Acme", price=Decimal("9.00")))
    return docs


@pytest.fixture(scope="module")
async def engines(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> AsyncIterator[tuple[TantivyBackend, ElasticsearchBackend]]:
    documents = catalog()
    embedded = TantivyBackend(Path(tmp_path_factory.mktemp("golden-tantivy")), writer=True)
    await embedded.apply(documents)
    engine = ElasticsearchBackend(
        settings.require("elasticsearch_url"),
        f"golden-{uuid.uuid4().hex[:12]}",
        settings.search_engine,
    )
    await engine.ensure_index()
    await engine.apply(documents)
    try:
        yield embedded, engine
    finally:
        await engine.client.delete_index(f"{engine.alias}-*")
        await engine.close()
        await embedded.close()


def comparable(result: SearchResult, query: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "total": result.total,
        "page": sorted(str(hit.id) for hit in result.items),
        "facets": result.facets.model_dump(mode="json") if result.facets else None,
    }
    if (field := SORTED.get(str(query.get("sort")))) is not None:
        seen["sorted"] = [str(getattr(hit, field)) for hit in result.items]
    return seen


@pytest.mark.parametrize("name", SEARCHES)
async def test_golden_search_answers_alike(
    name: str, engines: tuple[TantivyBackend, ElasticsearchBackend]
) -> None:
    query, tuning, scale = SEARCHES[name]
    answers = [
        comparable(await service.search(backend, ProductQuery(**query), tuning, scale), query)
        for backend in engines
    ]
    assert answers[1] == answers[0]


async def test_fewer_words_answers_alike(
    engines: tuple[TantivyBackend, ElasticsearchBackend],
) -> None:
    query = {"q": "black leather jacket coat"}
    answers = [
        comparable(await service.search(backend, ProductQuery(**query), Tuning()), query)
        for backend in engines
    ]
    assert answers[0]["total"] > 0
    assert answers[1] == answers[0]


@pytest.mark.parametrize("name", SUGGESTS)
async def test_golden_suggest_answers_alike(
    name: str, engines: tuple[TantivyBackend, ElasticsearchBackend]
) -> None:
    answers = []
    for backend in engines:
        found = await service.suggest(backend, SUGGESTS[name], SYNONYMS)
        dumped = found.model_dump(mode="json")
        answers.append({key: sorted(map(str, value)) for key, value in dumped.items()})
    assert answers[1] == answers[0]


async def test_the_catalog_gives_every_golden_search_something_to_find(
    engines: tuple[TantivyBackend, ElasticsearchBackend],
) -> None:
    """Equal answers would prove little if they were empty: all but the deep page find."""
    embedded, _ = engines
    empty = [
        name
        for name, (query, tuning, scale) in SEARCHES.items()
        if (await service.search(embedded, ProductQuery(**query), tuning, scale)).items == []
    ]
    assert empty == ["deep-page"]
