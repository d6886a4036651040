"""The embedded search backend against its contract: text weights, typos, filters, facets, sort."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from search.query import ProductDocument, ProductQuery, Sort
from search.tantivy_backend import TantivyBackend

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


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[TantivyBackend]:
    writer = TantivyBackend(tmp_path, writer=True)
    yield writer
    await writer.close()


async def names(backend: TantivyBackend, **query: Any) -> list[str]:
    return [hit.name for hit in (await backend.search(ProductQuery(**query))).items]


async def test_name_outweighs_category_outweighs_description(backend: TantivyBackend) -> None:
    await backend.apply(
        [
            doc("Plain Box", description="a lantern inside"),
            doc("Lantern Deluxe"),
            doc("Plain Crate", category="lantern", category_path="home/lantern"),
        ]
    )
    assert await names(backend, q="lantern") == ["Lantern Deluxe", "Plain Crate", "Plain Box"]


async def test_one_typo_matches_but_ranks_below_exact(backend: TantivyBackend) -> None:
    await backend.apply([doc("Espresso Machine"), doc("Espresso Grinder")])
    assert await names(backend, q="expresso machine") == ["Espresso Machine"]
    assert await names(backend, q="machnie") == ["Espresso Machine"]
    assert await names(backend, q="zzzzzz") == []


async def test_exact_sku_finds_its_product(backend: TantivyBackend) -> None:
    await backend.apply([doc("Red Kettle", sku="KT-0042"), doc("Blue Kettle", sku="KT-0043")])
    assert await names(backend, q="KT-0042") == ["Red Kettle"]
    assert await names(backend, q="KT-9999") == []


async def test_every_word_must_match(backend: TantivyBackend) -> None:
    await backend.apply([doc("Red Kettle"), doc("Blue Kettle")])
    assert await names(backend, q="red kettle") == ["Red Kettle"]


async def test_filters_and_facets_over_the_filtered_set(backend: TantivyBackend) -> None:
    await backend.apply(
        [
            doc("Lamp A", brand="Acme", price=Decimal("20.00")),
            doc("Lamp B", brand="Beam", price=Decimal("80.00"), available=0),
            doc(
                "Lamp C",
                brand="Beam",
                price=Decimal("300.00"),
                category="garden",
                category_path="home/garden",
            ),
            doc("Sofa", brand="Comfy", category="furniture", category_path="home/furniture"),
        ]
    )
    result = await backend.search(ProductQuery(q="lamp", price_max=Decimal("100")))
    assert sorted(hit.name for hit in result.items) == ["Lamp A", "Lamp B"]
    assert {f.value: f.count for f in result.facets.brands} == {"Acme": 1, "Beam": 1}
    buckets = {(b.min, b.max): b.count for b in result.facets.price if b.count}
    assert buckets == {(None, Decimal("25")): 1, (Decimal("50"), Decimal("100")): 1}

    in_stock = await backend.search(ProductQuery(q="lamp", in_stock=True))
    assert sorted(hit.name for hit in in_stock.items) == ["Lamp A", "Lamp C"]
    assert await names(backend, category="garden") == ["Lamp C"]
    assert sorted(await names(backend, category="home", brands=("Beam",))) == ["Lamp B", "Lamp C"]


async def test_sorts_and_pages(backend: TantivyBackend) -> None:
    await backend.apply(
        [
            doc(
                f"Item {n}",
                price=Decimal(10 + n),
                rating=float(n % 5),
                created_at=NOW - timedelta(days=n),
            )
            for n in range(25)
        ]
    )
    cheapest = await names(backend, sort=Sort.price_asc, size=3)
    assert cheapest == ["Item 0", "Item 1", "Item 2"]
    assert await names(backend, sort=Sort.price_desc, size=2) == ["Item 24", "Item 23"]
    assert await names(backend, sort=Sort.newest, size=1) == ["Item 0"]
    page_two = await backend.search(ProductQuery(sort=Sort.price_asc, page=2, size=10))
    assert [hit.name for hit in page_two.items][:2] == ["Item 10", "Item 11"]
    assert page_two.total == 25


async def test_relevance_ties_break_on_rating(backend: TantivyBackend) -> None:
    await backend.apply([doc("Desk Lamp", rating=3.0), doc("Desk Lamp", rating=4.8)])
    hits = (await backend.search(ProductQuery(q="desk lamp"))).items
    assert [hit.rating for hit in hits] == [4.8, 3.0]


async def test_apply_replaces_and_removes(backend: TantivyBackend) -> None:
    lamp = doc("Old Name")
    await backend.apply([lamp])
    await backend.apply([lamp.model_copy(update={"name": "New Name", "version": 2})])
    assert await names(backend) == ["New Name"]
    await backend.apply([], [lamp.id])
    assert await names(backend) == []


async def test_reader_in_another_instance_sees_commits(
    backend: TantivyBackend, tmp_path: Path
) -> None:
    reader = TantivyBackend(tmp_path)
    assert await names(reader) == []
    await backend.apply([doc("Fresh Thing")])
    assert await names(reader) == ["Fresh Thing"]
