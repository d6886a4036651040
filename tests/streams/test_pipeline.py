"""End to end on real services: API write -> outbox -> Kafka -> worker -> search, cache."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import eventually
from tests.factories import create_product, search, set_stock, word

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def test_created_product_becomes_searchable(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """How fast is bench/freshness's job (p99 under 200 ms); here only that it arrives."""
    name = word()
    product = await create_product(client, admin, name=f"{name} Lantern")

    result = await eventually(lambda: search(client, q=name), lambda r: r["total"] == 1, timeout=30)
    assert result["items"][0]["id"] == product["id"]


async def test_one_typo_still_finds_the_product(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    name = word("kettle")
    await create_product(client, admin, name=f"{name} Teapot")
    typo = name[:3] + name[4] + name[3] + name[5:]  # two letters swapped: one edit

    await eventually(lambda: search(client, q=name), lambda r: r["total"] == 1)
    result = await search(client, q=typo)
    assert [hit["name"] for hit in result["items"]] == [f"{name} Teapot"]


async def test_stock_to_zero_flips_in_stock_and_changes_facets(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    name = word()
    brand = f"Brand {word('b')}"
    product = await create_product(client, admin, name=f"{name} Lantern", brand=brand)
    await set_stock(client, admin, product["sku"], 7)

    def in_stock_of_brand(result: dict[str, Any]) -> int | None:
        """In-stock products of the brand among those matching the name.

        The brand facet ignores the brand filter (disjunctive) and lists only the top
        brands, so the query narrows it to this test's product.
        """
        counts = {facet["value"]: facet["count"] for facet in result["facets"]["brands"]}
        return counts.get(brand)

    stocked = await eventually(
        lambda: search(client, q=name, brand=brand, in_stock="true"), lambda r: r["total"] == 1
    )
    assert in_stock_of_brand(stocked) == 1
    assert stocked["items"][0]["available"] == 7

    await set_stock(client, admin, product["sku"], 0)

    emptied = await eventually(
        lambda: search(client, q=name, brand=brand, in_stock="true"), lambda r: r["total"] == 0
    )
    assert in_stock_of_brand(emptied) is None
    assert emptied["facets"]["stock"] == {"in_stock": 0, "out_of_stock": 1}
    everything = await search(client, q=name, brand=brand)
    assert [hit["in_stock"] for hit in everything["items"]] == [False]


async def test_deleted_product_leaves_search(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    name = word()
    product = await create_product(client, admin, name=f"{name} Lantern")
    await eventually(lambda: search(client, q=name), lambda r: r["total"] == 1)

    response = await client.delete(f"/api/admin/products/{product['id']}", headers=admin)
    assert response.status_code == 204

    await eventually(lambda: search(client, q=name), lambda r: r["total"] == 0)
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 404


async def test_updated_product_is_reindexed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)
    new_name = word()
    response = await client.patch(
        f"/api/admin/products/{product['id']}", json={"name": f"{new_name} Lamp"}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    result = await eventually(lambda: search(client, q=new_name), lambda r: r["total"] == 1)
    assert result["items"][0]["id"] == product["id"]


async def test_stock_event_invalidates_cached_list(
    client: httpx.AsyncClient, admin: dict[str, str], redis: Redis
) -> None:
    brand = f"Brand {word('b')}"
    product = await create_product(client, admin, brand=brand)
    brand_slug = brand.lower().replace(" ", "-")
    await set_stock(client, admin, product["sku"], 3)
    await eventually(
        lambda: search(client, brand=brand, in_stock="true"), lambda r: r["total"] == 1
    )

    async def listed() -> dict[str, Any]:
        response = await client.get("/api/products", params={"brand": brand_slug})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    first = await listed()
    assert first["items"][0]["available"] == 3
    assert await redis.keys("catalog:list:*"), "the list was not cached"

    await set_stock(client, admin, product["sku"], 9)

    # Well inside the 5-minute TTL: only the stock event can have dropped the cached list.
    fresh = await eventually(listed, lambda body: body["items"][0]["available"] == 9, timeout=5)
    assert fresh["items"][0]["in_stock"] is True


async def test_item_cache_is_invalidated_by_update(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)
    assert (await client.get(f"/api/products/{product['id']}")).json()["price"] == "49.90"
    await client.patch(
        f"/api/admin/products/{product['id']}", json={"price": "39.00"}, headers=admin
    )

    async def price() -> str:
        return str((await client.get(f"/api/products/{product['id']}")).json()["price"])

    await eventually(price, lambda value: value == "39.00", timeout=5)
