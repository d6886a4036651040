"""The stock index's contract, on tantivy and (when there is one) the Elasticsearch API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bootstrap.settings import Settings
from commerce.inventory.repository import StockRow
from search.stock import StockIndex, StockQuery, StockSort, stock_documents
from search.stock_engines import EngineStockIndex, TantivyStockIndex
from tests.search.conftest import BOTH_ENGINES

DEFAULT_LINE = 10
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(params=BOTH_ENGINES)
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StockIndex]:
    if request.param == "tantivy":
        embedded = TantivyStockIndex(tmp_path, writer=True)
        yield embedded
        await embedded.close()
        return
    settings: Settings = request.getfixturevalue("settings")
    engine = EngineStockIndex(
        settings.require("elasticsearch_url"),
        f"stock-contract-{uuid.uuid4().hex[:12]}",
        settings.search_engine,
    )
    await engine.ensure_index()
    try:
        yield engine
    finally:
        await engine.client.delete_index(f"{engine.alias}-*")
        await engine.close()


def row(
    product: uuid.UUID,
    sku: str,
    warehouse: str,
    on_hand: int,
    *,
    name: str = "Trail Lantern",
    brand: str = "Lumo",
    category: str = "sports/camping",
    reserved: int = 0,
    line: int | None = None,
    sku_available: int | None = None,
    moved_hours_ago: int = 1,
    variant: uuid.UUID | None = None,
) -> StockRow:
    return StockRow(
        product_id=product,
        variant_id=variant or uuid.uuid5(product, sku),
        sku=sku,
        product_name=name,
        brand=brand,
        category_path=category,
        warehouse=warehouse,
        on_hand=on_hand,
        reserved=reserved,
        own_line=line,
        sku_available=on_hand - reserved if sku_available is None else sku_available,
        last_movement_at=NOW - timedelta(hours=moved_hours_ago),
    )


LANTERN, STOVE, TENT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ROWS = [
    # LAN-RED: 3 + 20 = 23 available in all, at or above the default line
    row(LANTERN, "LAN-RED", "berlin", 5, reserved=2, sku_available=23, moved_hours_ago=5),
    row(LANTERN, "LAN-RED", "dallas", 20, sku_available=23, moved_hours_ago=2),
    # LAN-BLUE: 4 in all, below the default line of 10
    row(LANTERN, "LAN-BLUE", "berlin", 4, moved_hours_ago=9),
    # STV-1: 30 available but its own line is 50
    row(STOVE, "STV-1", "osaka", 30, name="Camp Stove", brand="Ember", line=50),
    row(
        TENT,
        "TNT-2P",
        "dallas",
        12,
        name="Two Person Tent",
        brand="Ridge",
        category="sports/camping/tents",
        moved_hours_ago=30,
    ),
]


async def filled(index: StockIndex) -> StockIndex:
    documents = stock_documents(ROWS, DEFAULT_LINE)
    await index.replace_products([LANTERN, STOVE, TENT], documents)
    return index


def skus(page: object) -> list[tuple[str, str]]:
    return [(item.sku, item.warehouse) for item in page.items]  # type: ignore[attr-defined]


async def test_words_match_sku_name_or_brand_and_an_exact_sku_ranks_first(
    index: StockIndex,
) -> None:
    await filled(index)
    by_name = await index.search(StockQuery(q="lantern"))
    assert by_name.total == 3
    by_brand = await index.search(StockQuery(q="ember"))
    assert skus(by_brand) == [("STV-1", "osaka")]
    exact = await index.search(StockQuery(q="LAN-BLUE"))
    assert skus(exact)[0] == ("LAN-BLUE", "berlin")
    nothing = await index.search(StockQuery(q="lantern ember"))
    assert nothing.total == 0


async def test_documents_carry_stock_the_line_and_the_last_movement(index: StockIndex) -> None:
    await filled(index)
    page = await index.search(StockQuery(q="LAN-RED", warehouse=["berlin"]))
    (berlin,) = page.items
    assert (berlin.on_hand, berlin.reserved, berlin.available) == (5, 2, 3)
    assert (berlin.low_stock_line, berlin.line_is_own, berlin.sku_available) == (10, False, 23)
    assert berlin.below_line is False
    assert berlin.last_movement_at == NOW - timedelta(hours=5)
    assert berlin.category_path == "sports/camping"


async def test_filters_and_below_line_follow_the_skus_own_line(index: StockIndex) -> None:
    await filled(index)
    below = await index.search(StockQuery(below_line=True))
    assert sorted(skus(below)) == [("LAN-BLUE", "berlin"), ("STV-1", "osaka")]
    above = await index.search(StockQuery(below_line=False))
    assert above.total == 3
    tents = await index.search(StockQuery(category="tents"))
    assert skus(tents) == [("TNT-2P", "dallas")]
    camping = await index.search(StockQuery(category="camping"))
    assert camping.total == 5
    two = await index.search(StockQuery(warehouse=["berlin", "osaka"], brand=["Lumo"]))
    assert sorted(skus(two)) == [("LAN-BLUE", "berlin"), ("LAN-RED", "berlin")]


async def test_facets_count_without_their_own_filter(index: StockIndex) -> None:
    await filled(index)
    page = await index.search(StockQuery(warehouse=["berlin"]))
    assert page.total == 2
    warehouses = {f.value: f.count for f in page.facets.warehouses}
    assert warehouses == {"berlin": 2, "dallas": 2, "osaka": 1}
    assert {f.value: f.count for f in page.facets.brands} == {"Lumo": 2}


async def test_sorts_and_pages(index: StockIndex) -> None:
    await filled(index)
    fewest = await index.search(StockQuery(sort=StockSort.available, size=2))
    assert [item.available for item in fewest.items] == [3, 4]
    assert fewest.total == 5
    most = await index.search(StockQuery(sort=StockSort.available_desc, size=1, page=2))
    assert [item.available for item in most.items] == [20]
    stalest = await index.search(StockQuery(sort=StockSort.last_movement))
    assert skus(stalest)[0] == ("TNT-2P", "dallas")
    by_sku = await index.search(StockQuery())
    assert [item.sku for item in by_sku.items] == sorted(item.sku for item in by_sku.items)


async def test_replacing_a_product_removes_its_stale_documents(index: StockIndex) -> None:
    await filled(index)
    await index.replace_products(
        [LANTERN], stock_documents([row(LANTERN, "LAN-RED", "dallas", 1)], DEFAULT_LINE)
    )
    lanterns = await index.search(StockQuery(q="lantern"))
    assert skus(lanterns) == [("LAN-RED", "dallas")]
    assert lanterns.items[0].below_line is True
    await index.replace_products([STOVE], [])
    assert (await index.search(StockQuery(q="stove"))).total == 0
    assert await index.document_count() == 2
