"""Search as a shop's developers call it: merchandisers' synonyms and rules, currencies,
suggestions, and what hostile input gets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_cart import tee
from tests.api.test_orders import bought, settled
from tests.conftest import eventually
from tests.factories import create_product, search, word

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def indexed(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    return await eventually(lambda: search(client, **params), lambda r: r["total"] > 0)


async def test_a_merchandisers_synonym_applies_without_a_reindex(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made_up, other = word("syn"), word("alt")
    await create_product(client, admin, name=f"{made_up} Kettle")
    await indexed(client, q=made_up)
    assert (await search(client, q=other))["total"] == 0

    added = await client.post(
        "/api/admin/search/synonyms", json={"terms": [other, made_up]}, headers=admin
    )
    assert added.status_code == 201, added.text
    found = await eventually(lambda: search(client, q=other), lambda r: r["total"] == 1)
    assert found["items"][0]["name"] == f"{made_up} Kettle"
    listed = (await client.get("/api/admin/search/synonyms", headers=admin)).json()
    assert [other, made_up] in [s["terms"] for s in listed]

    gone = await client.delete(f"/api/admin/search/synonyms/{added.json()['id']}", headers=admin)
    assert gone.status_code == 204
    await eventually(lambda: search(client, q=other), lambda r: r["total"] == 0)
    again = await client.delete(f"/api/admin/search/synonyms/{added.json()['id']}", headers=admin)
    assert again.status_code == 404


async def test_a_rule_pins_and_hides_until_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    brand = f"Brand {word('b')}"
    shared = word("lamp")
    first = await create_product(client, admin, name=f"{shared} Alpha", brand=brand, rating=5)
    second = await create_product(client, admin, name=f"{shared} Beta", brand=brand, rating=3)
    hidden = await create_product(client, admin, name=f"{shared} Gamma", brand=brand, rating=4)
    await eventually(lambda: search(client, q=shared), lambda r: r["total"] == 3)

    rule = await client.post(
        "/api/admin/search/rules",
        json={
            "query": shared.upper(),
            "pin": [{"product_id": second["id"], "position": 1}],
            "hide": [hidden["id"]],
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    placed = await eventually(
        lambda: search(client, q=shared), lambda r: r["items"][0]["id"] == second["id"]
    )
    assert [hit["id"] for hit in placed["items"]] == [second["id"], first["id"]]
    assert placed["total"] == 2

    deleted = await client.delete(f"/api/admin/search/rules/{rule.json()['id']}", headers=admin)
    assert deleted.status_code == 204
    await eventually(lambda: search(client, q=shared), lambda r: r["total"] == 3)


async def test_a_rule_must_name_what_exists(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)
    await client.delete(f"/api/admin/products/{product['id']}", headers=admin)
    cases: list[dict[str, Any]] = [
        {"query": "lamp", "pin": [{"product_id": product["id"], "position": 1}]},
        {"query": "lamp", "boost_brands": [{"value": f"Brand {word()}", "weight": 5}]},
        {"category": "no-such-category", "bury": []},
        {"query": "lamp", "category": "camping", "hide": [product["id"]]},
        {"query": "lamp"},
        {"query": "?!", "hide": [product["id"]]},
        {"query": "lamp", "pin": [{"product_id": product["id"], "position": 0}]},
    ]
    for body in cases:
        response = await client.post("/api/admin/search/rules", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing = await client.post(
        "/api/admin/search/rules",
        json={"query": "lamp", "hide": [product["id"]]},
        headers=admin,
    )
    assert product["id"] in missing.json()["detail"]


async def test_a_pinned_product_deleted_later_just_disappears(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    shared = word("pin")
    kept = await create_product(client, admin, name=f"{shared} Kept")
    pinned = await create_product(client, admin, name=f"{shared} Pinned", rating=1)
    await eventually(lambda: search(client, q=shared), lambda r: r["total"] == 2)
    rule = await client.post(
        "/api/admin/search/rules",
        json={"query": shared, "pin": [{"product_id": pinned["id"], "position": 1}]},
        headers=admin,
    )
    assert rule.status_code == 201
    await client.delete(f"/api/admin/products/{pinned['id']}", headers=admin)
    after = await eventually(lambda: search(client, q=shared), lambda r: r["total"] == 1)
    assert [hit["id"] for hit in after["items"]] == [kept["id"]]


async def test_prices_filters_and_buckets_in_the_shoppers_currency(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    brand = f"Brand {word('b')}"
    await create_product(client, admin, brand=brand, price="100.00")
    usd = await indexed(client, brand=brand)
    eur = await search(client, brand=brand, currency="eur")
    assert usd["currency"] == "USD" and usd["rate_date"] is None
    assert eur["currency"] == "EUR" and eur["rate_date"] is not None
    shown = eur["items"][0]["price"]
    assert shown != "100.00"
    around = await search(client, brand=brand, currency="EUR", price_min=shown, price_max=shown)
    assert around["total"] == 1
    below = await search(client, brand=brand, currency="EUR", price_max=float(shown) - 0.01)
    assert below["total"] == 0
    edges = [bucket["min"] for bucket in eur["facets"]["price"]][1:]
    assert all(float(edge).is_integer() for edge in edges)
    held = [b for b in eur["facets"]["price"] if b["count"]]
    assert len(held) == 1 and float(held[0]["min"]) <= float(shown) < float(held[0]["max"])


async def test_suggest_while_typing(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made_up = word("sug")
    await create_product(client, admin, name=f"{made_up} Headlamp")
    await indexed(client, q=made_up)
    response = await client.get("/api/search/suggest", params={"q": made_up[:-2]})
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["products"]] == [f"{made_up} Headlamp"]
    typo = made_up[:3] + made_up[4] + made_up[3] + made_up[5:-1]
    typed = (await client.get("/api/search/suggest", params={"q": typo})).json()
    assert [p["name"] for p in typed["products"]] == [f"{made_up} Headlamp"]
    empty = await client.get("/api/search/suggest")
    assert empty.status_code == 200 and empty.json()["products"] == []


async def test_best_selling_ranks_by_units_paid_for(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    shared = word("best")
    unsold = await tee(client, admin, name=f"{shared} Unsold Tee", rating=5)
    sold = await tee(client, admin, name=f"{shared} Sold Tee", rating=1)
    order = await bought(client, shopper, sold, 2, payment_method="tok_visa")
    await settled(client, shopper, order["id"], "CONFIRMED")

    ranked = await eventually(
        lambda: search(client, q=shared, sort="best_selling"),
        lambda r: [hit["id"] for hit in r["items"]] == [sold["id"], unsold["id"]],
    )
    assert ranked["total"] == 2
    by_rating = await search(client, q=shared, sort="rating")
    assert [hit["id"] for hit in by_rating["items"]] == [unsold["id"], sold["id"]]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/search", {"q": "x" * 10_240}),
        ("/api/search", {"currency": "XXX"}),
        ("/api/search", {"currency": "EUR", "price_min": "5", "price_max": "1"}),
        ("/api/search", {"category": "Not A Slug"}),
        ("/api/search", {"brand": ""}),
        ("/api/search", {"sort": "cheapest_first"}),
        ("/api/search/suggest", {"q": "x" * 10_240}),
    ],
)
async def test_hostile_input_is_a_clear_4xx(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "q",
    ['name:(desk OR x) AND "lamp', "lamp~2^9 -desk", "*:*", "\\/[]{}!?", "(((", "\x7f\u200b"],
)
async def test_query_syntax_is_searched_as_words(client: httpx.AsyncClient, q: str) -> None:
    for path in ("/api/search", "/api/search/suggest"):
        response = await client.get(path, params={"q": q})
        assert response.status_code == 200, response.text


async def test_a_page_past_the_end_is_empty(client: httpx.AsyncClient) -> None:
    result = await search(client, page=500, size=20)
    assert result["items"] == [] and result["page"] == 500
