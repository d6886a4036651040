"""`GET /api/admin/inventory/search`: the stock index, kept by the stream from stock,
catalog and low-stock-line events, on whichever engine the stack runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import tantivy

from bootstrap.settings import Settings
from bootstrap.wiring import fill_empty_stock_index
from search.stock import StockQuery
from search.stock_engines import TantivyStockIndex
from tests.conftest import eventually
from tests.factories import create_product, set_stock, word

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def stock_search(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/admin/inventory/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def levels(page: dict[str, Any]) -> dict[str, tuple[int, int, bool]]:
    return {
        item["warehouse"]: (item["on_hand"], item["available"], item["below_line"])
        for item in page["items"]
    }


async def test_stock_changes_lines_renames_and_deletes_reach_the_stock_index(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = word("stk")
    product = await create_product(client, admin, name=f"{tag} Headlamp")
    sku = product["sku"]
    await set_stock(client, admin, sku, 4, warehouse="berlin")
    await set_stock(client, admin, sku, 3, warehouse="dallas")

    page = await eventually(
        lambda: stock_search(client, admin, q=tag), lambda p: len(p["items"]) == 2
    )
    # 7 in all is below the shop's default line (10): both warehouses say so.
    assert levels(page) == {"berlin": (4, 4, True), "dallas": (3, 3, True)}
    assert {item["sku"] for item in page["items"]} == {sku}
    assert page["facets"]["warehouses"] == [
        {"value": "berlin", "count": 1},
        {"value": "dallas", "count": 1},
    ]
    assert all(item["last_movement_at"] for item in page["items"])

    line = await client.put(
        f"/api/admin/inventory/{sku}/low-stock-threshold", json={"threshold": 5}, headers=admin
    )
    assert line.status_code == 200, line.text
    await eventually(
        lambda: stock_search(client, admin, q=sku, below_line="false"),
        lambda p: len(p["items"]) == 2 and all(i["low_stock_line"] == 5 for i in p["items"]),
    )

    renamed = f"{word('ren')} Headlamp"
    patch = await client.patch(
        f"/api/admin/products/{product['id']}",
        json={"name": renamed},
        headers=admin,
    )
    assert patch.status_code == 200, patch.text
    await eventually(
        lambda: stock_search(client, admin, q=renamed.split()[0], warehouse="dallas"),
        lambda p: [i["product_name"] for i in p["items"]] == [renamed],
    )

    gone = await client.delete(f"/api/admin/products/{product['id']}", headers=admin)
    assert gone.status_code == 204, gone.text
    await eventually(lambda: stock_search(client, admin, q=sku), lambda p: p["total"] == 0)


async def test_stock_search_needs_manage_inventory_and_validates(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    anonymous = await client.get("/api/admin/inventory/search")
    assert anonymous.status_code == 401
    customer = await client.get("/api/admin/inventory/search", headers=accounts["CUSTOMER"])
    assert customer.status_code == 403
    bad = await client.get(
        "/api/admin/inventory/search", params={"sort": "cheapest"}, headers=accounts["ADMIN"]
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_an_embedded_stock_index_an_older_release_wrote_is_set_aside_and_refilled(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    if settings.elasticsearch_url:
        pytest.skip("an engine's index is kept by its own mappings")
    product = await create_product(client, admin, name=f"{word('old')} Lantern")
    await set_stock(client, admin, product["sku"], 6, warehouse="berlin")
    upgraded = Settings.model_validate(settings.model_dump() | {"data_dir": tmp_path})
    older = tantivy.SchemaBuilder().add_text_field("source", stored=True).build()
    upgraded.stock_index_dir.mkdir()
    tantivy.Index(older, path=str(upgraded.stock_index_dir))  # what the last release wrote

    filled = await fill_empty_stock_index(upgraded)

    assert filled is not None and filled > 0
    assert (tmp_path / "stock-index.outdated" / "meta.json").exists()
    index = TantivyStockIndex(upgraded.stock_index_dir)
    page = await index.search(StockQuery(q=product["sku"]))
    assert [(item.warehouse, item.on_hand) for item in page.items] == [("berlin", 6)]
