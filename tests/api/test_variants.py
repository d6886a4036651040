"""Variants through the API: created with a product or one by one, each with its own SKU and
stock; duplicates refused; browse, detail and search show them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from storefront.processes import WorkerProcess
from tests.conftest import eventually
from tests.factories import create_product, search, set_stock, word

pytestmark = pytest.mark.usefixtures("reference")


async def shirt(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sizes: tuple[str, ...] = ("S", "M"),
    colour: str = "blue",
    name: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    sku = f"TEE-{uuid.uuid4().hex[:10]}"
    variants = [
        {"sku": f"{sku}-{size}", "options": {"size": size, "colour": colour}} for size in sizes
    ]
    return await create_product(
        client,
        admin,
        sku=sku,
        name=name or f"{word()} Tee",
        options=["size", "colour"],
        variants=variants,
        **fields,
    )


async def test_a_product_without_options_has_one_variant_with_its_sku(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)

    assert product["options"] == []
    assert [v["sku"] for v in product["variants"]] == [product["sku"]]
    assert product["variants"][0]["price"] == product["price"]


async def test_stock_of_one_variant_does_not_touch_the_other(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await shirt(client, admin)
    small, medium = product["variants"]

    await set_stock(client, admin, small["sku"], 7)
    stock = await set_stock(client, admin, medium["sku"], 3, warehouse="osaka")
    await set_stock(client, admin, small["sku"], 5)

    assert (stock["variant_id"], stock["available"]) == (medium["id"], 3)
    shown = (await client.get(f"/api/products/{product['id']}")).json()
    assert {v["sku"]: v["available"] for v in shown["variants"]} == {
        small["sku"]: 5,
        medium["sku"]: 3,
    }
    assert (shown["available"], shown["in_stock"]) == (8, True)


async def test_variants_are_added_changed_and_retired(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await shirt(client, admin, sizes=("S",), price="20.00")
    url = f"/api/admin/products/{product['id']}/variants"

    added = await client.post(
        url,
        json={"sku": f"{product['sku']}-XL", "options": {"size": "XL", "colour": "blue"}},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    large = added.json()
    changed = await client.patch(f"{url}/{large['id']}", json={"price": "24.50"}, headers=admin)
    assert (changed.json()["price"], changed.json()["price_override"]) == ("24.50", "24.50")
    cleared = await client.patch(f"{url}/{large['id']}", json={"price": None}, headers=admin)
    assert (cleared.json()["price"], cleared.json()["price_override"]) == ("20.00", None)

    assert (await client.delete(f"{url}/{large['id']}", headers=admin)).status_code == 204
    listed = (await client.get(url, headers=admin)).json()
    assert [v["options"]["size"] for v in listed] == ["S"]
    last = await client.delete(f"{url}/{listed[0]['id']}", headers=admin)
    assert last.status_code == 409 and "at least one variant" in last.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"options": {"size": "m", "colour": "BLUE"}}, 409, "already has a variant"),
        ({"sku": "{sku}-S"}, 409, "already exists"),
        ({"options": {"size": "XL"}}, 422, "each of the product's options"),
        ({"options": {"size": "XL", "colour": "red", "fit": "slim"}}, 422, "options"),
    ],
)
async def test_duplicates_and_wrong_options_are_refused(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    change: dict[str, Any],
    status: int,
    words: str,
) -> None:
    product = await shirt(client, admin)
    body = {"sku": f"{product['sku']}-NEW", "options": {"size": "XL", "colour": "red"}, **change}
    body["sku"] = body["sku"].format(sku=product["sku"])

    response = await client.post(
        f"/api/admin/products/{product['id']}/variants", json=body, headers=admin
    )

    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_variant_with_stock_on_hand_is_not_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await shirt(client, admin)
    small = product["variants"][0]
    await set_stock(client, admin, small["sku"], 2)

    url = f"/api/admin/products/{product['id']}/variants/{small['id']}"
    response = await client.delete(url, headers=admin)

    assert response.status_code == 409 and "2 units on hand" in response.json()["detail"]


async def test_a_product_with_options_needs_variants_and_distinct_skus(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"sku": f"T-{uuid.uuid4().hex[:8]}", "name": "Tee", "brand": "Acme"}
    body |= {"category": "camping", "price": "9.00", "options": ["size"]}
    none = await client.post("/api/admin/products", json=body, headers=admin)
    twice = await client.post(
        "/api/admin/products",
        json=body
        | {
            "variants": [
                {"sku": "DUP-1", "options": {"size": "S"}},
                {"sku": "DUP-1", "options": {"size": "M"}},
            ]
        },
        headers=admin,
    )

    assert none.status_code == 422 and "needs at least one variant" in none.json()["detail"]
    assert twice.status_code == 409 and "DUP-1" in twice.json()["detail"]


async def test_search_counts_sizes_and_filters_on_the_variant_in_stock(
    client: httpx.AsyncClient, admin: dict[str, str], worker: WorkerProcess
) -> None:
    brand = f"Brand {word('b')}"
    tag = word()
    both = await shirt(client, admin, sizes=("S", "M"), brand=brand, name=f"{tag} Tee")
    small_only = await shirt(
        client, admin, sizes=("S",), colour="red", brand=brand, name=f"{tag} Shirt"
    )
    await set_stock(client, admin, both["variants"][0]["sku"], 4)  # S in stock, M sold out
    await set_stock(client, admin, small_only["variants"][0]["sku"], 1)

    everything = await eventually(
        lambda: search(client, q=tag, brand=brand),
        # The brand facet ignores the brand filter and lists only the top brands: the
        # query narrows it to this test's shirts.
        lambda r: (
            r["total"] == 2
            and {b["value"]: b["count"] for b in r["facets"]["brands"]}.get(brand) == 2
        ),
        timeout=30,
    )
    sizes = {f["value"]: f["count"] for f in everything["facets"]["options"]["size"]}
    colours = {f["value"]: f["count"] for f in everything["facets"]["options"]["colour"]}
    assert (sizes, colours) == ({"S": 2, "M": 1}, {"blue": 1, "red": 1})

    medium = await search(client, brand=brand, option="size:M")
    medium_in_stock = await search(client, brand=brand, option="size:m", in_stock="true")
    small_blue = await search(client, brand=brand, option=["size:S", "colour:Blue"])
    in_stock = await search(client, brand=brand, in_stock="true")

    assert [hit["id"] for hit in medium["items"]] == [both["id"]]
    assert medium_in_stock["total"] == 0  # M exists, but none is in stock
    assert [hit["id"] for hit in small_blue["items"]] == [both["id"]]
    stocked_sizes = {f["value"]: f["count"] for f in in_stock["facets"]["options"]["size"]}
    assert stocked_sizes == {"S": 2}


async def test_search_shows_the_price_range_of_the_variants(
    client: httpx.AsyncClient, admin: dict[str, str], worker: WorkerProcess
) -> None:
    sku = f"TEE-{uuid.uuid4().hex[:10]}"
    name = f"{word()} Tee"
    await create_product(
        client,
        admin,
        sku=sku,
        name=name,
        price="20.00",
        options=["size"],
        variants=[
            {"sku": f"{sku}-S", "options": {"size": "S"}, "price": "18.00"},
            {"sku": f"{sku}-XL", "options": {"size": "XL"}, "price": "26.00"},
        ],
    )

    found = await eventually(lambda: search(client, q=name), lambda r: r["total"] == 1, timeout=30)

    hit = found["items"][0]
    assert (hit["price"], hit["price_max"]) == ("18.00", "26.00")


@pytest.mark.parametrize("option", ["size", "size:", ":M", "size=M", "a|b:c", "x" * 40 + ":M"])
async def test_a_malformed_option_filter_is_a_422(client: httpx.AsyncClient, option: str) -> None:
    response = await client.get("/api/search", params={"option": option})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
