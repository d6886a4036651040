"""The cart through the API: variants and stock checked on add, prices kept as added, one
coupon with its discount line, and concurrent changes that cannot break the limits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.factories import create_product, set_stock

pytestmark = pytest.mark.usefixtures("reference")


async def tee(
    client: httpx.AsyncClient, admin: dict[str, str], stock: int = 5, **fields: Any
) -> dict[str, Any]:
    """A tee in S and M, `stock` units of each, in fashion/shirts by brand Acme."""
    sku = f"CT-{uuid.uuid4().hex[:10]}"
    product = await create_product(
        client,
        admin,
        sku=sku,
        brand="Acme",
        category="shirts",
        price="20.00",
        options=["size"],
        variants=[
            {"sku": f"{sku}-S", "options": {"size": "S"}},
            {"sku": f"{sku}-M", "options": {"size": "M"}, "price": "22.00"},
        ],
        **fields,
    )
    for variant in product["variants"]:
        await set_stock(client, admin, variant["sku"], stock)
    return product


async def add(
    client: httpx.AsyncClient, shopper: dict[str, str], product: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post(
        "/api/cart/items", json={"product_id": product["id"], **body}, headers=shopper
    )


async def coupon(client: httpx.AsyncClient, admin: dict[str, str], **terms: Any) -> str:
    code = f"Cart{uuid.uuid4().hex[:8]}"
    response = await client.post(
        "/api/admin/coupons",
        json={"code": code, "kind": "percentage", "value": "10", **terms},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return code


async def test_a_new_cart_is_empty_and_a_bad_token_is_refused(
    client: httpx.AsyncClient, shopper: dict[str, str]
) -> None:
    cart = await client.get("/api/cart", headers=shopper)

    assert cart.status_code == 200
    assert "X-Cart-Id" not in cart.headers  # the account's cart
    assert cart.json() | {"items": []} == {
        "items": [],
        "currency": "USD",
        "rate_date": cart.json()["rate_date"],
        "subtotal": "0.00",
        "discount": "0.00",
        "total": "0.00",
        "coupon": None,
        "item_count": 0,
    }
    forged = await client.get("/api/cart", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401


async def test_a_guest_cart_merges_into_the_account_at_login(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=20)
    small, medium = (variant["id"] for variant in product["variants"])
    guest = await add(client, {}, product, variant_id=small, quantity=8)
    assert guest.status_code == 200, guest.text
    cart_id = guest.headers["X-Cart-Id"]
    more = await add(client, {"X-Cart-Id": cart_id}, product, variant_id=medium, quantity=1)
    assert more.headers["X-Cart-Id"] == cart_id and len(more.json()["items"]) == 2
    other_guest = await client.get("/api/cart")
    assert other_guest.headers["X-Cart-Id"] != cart_id and other_guest.json()["items"] == []
    bad = await client.get("/api/cart", headers={"X-Cart-Id": "not-a-uuid"})
    assert bad.status_code == 422

    email = f"guest{uuid.uuid4().hex[:8]}@example.com"
    registered = await client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "first_name": "G", "last_name": "U"},
    )
    account = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    await add(client, account, product, variant_id=small, quantity=2)
    login = await client.post(
        "/api/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Cart-Id": cart_id},
    )
    assert login.status_code == 200, login.text

    merged = (await client.get("/api/cart", headers=account)).json()
    quantities = {line["variant_id"]: line["quantity"] for line in merged["items"]}
    # 2 + 8 S reach the product's cap of 10 units: the guest's M does not fit any more
    assert quantities == {small: 10}
    emptied = await client.get("/api/cart", headers={"X-Cart-Id": cart_id})
    assert emptied.json()["items"] == []


async def test_variants_stock_and_the_per_product_limit_are_checked_on_add(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=4)
    small, medium = product["variants"]

    unnamed = await add(client, shopper, product)
    assert unnamed.status_code == 422 and small["sku"] in unnamed.text

    assert (await add(client, shopper, product, variant_id=small["id"], quantity=3)).is_success
    short = await add(client, shopper, product, variant_id=small["id"], quantity=2)
    assert short.status_code == 409
    assert (short.json()["sku"], short.json()["available"], short.json()["wanted"]) == (
        small["sku"],
        4,
        5,
    )

    await set_stock(client, admin, medium["sku"], 50)
    too_many = await add(client, shopper, product, variant_id=medium["id"], quantity=8)
    assert too_many.status_code == 422 and too_many.json()["limit"] == 10

    cart = (await add(client, shopper, product, variant_id=medium["id"], quantity=7)).json()
    assert [(line["sku"], line["quantity"]) for line in cart["items"]] == [
        (small["sku"], 3),
        (medium["sku"], 7),
    ]
    assert (cart["subtotal"], cart["total"], cart["item_count"]) == ("214.00", "214.00", 10)


async def test_unknown_products_and_variants_are_problems(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    gone = await create_product(client, admin)
    await client.delete(f"/api/admin/products/{gone['id']}", headers=admin)

    for body in (
        {"product_id": str(uuid.uuid4())},
        {"product_id": gone["id"]},
        {"product_id": product["id"], "variant_id": str(uuid.uuid4())},
        {"product_id": product["id"], "variant_id": product["variants"][0]["id"], "quantity": 0},
        {"product_id": "not-a-uuid"},
    ):
        response = await client.post("/api/cart/items", json=body, headers=shopper)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_price_as_added_is_kept_and_a_change_is_shown(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    small = product["variants"][0]
    await add(client, shopper, product, variant_id=small["id"], quantity=2)

    await client.patch(
        f"/api/admin/products/{product['id']}", json={"price": "25.00"}, headers=admin
    )
    line = (await client.get("/api/cart", headers=shopper)).json()["items"][0]

    assert (line["unit_price"], line["current_price"], line["price_changed"]) == (
        "20.00",
        "25.00",
        True,
    )
    assert line["line_total"] == "40.00"


async def test_quantities_change_and_lines_go(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=3)
    small = product["variants"][0]
    await add(client, shopper, product, variant_id=small["id"])
    url = f"/api/cart/items/{small['id']}"

    assert (await client.patch(url, json={"quantity": 3}, headers=shopper)).json()[
        "item_count"
    ] == 3
    assert (await client.patch(url, json={"quantity": 4}, headers=shopper)).status_code == 409
    assert (await client.patch(url, json={"quantity": 11}, headers=shopper)).status_code == 422
    assert (await client.delete(url, headers=shopper)).json()["items"] == []
    assert (await client.delete(url, headers=shopper)).status_code == 404


async def test_a_coupon_adds_a_discount_line_and_names_the_rule_it_fails(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    small = product["variants"][0]
    code = await coupon(client, admin, min_subtotal="30", currency="USD")
    expired = await coupon(client, admin, valid_to="2020-01-01T00:00:00Z")

    empty = await client.post("/api/cart/coupon", json={"code": code}, headers=shopper)
    assert empty.status_code == 422 and empty.json()["rule"] == "empty_cart"
    await add(client, shopper, product, variant_id=small["id"], quantity=1)

    for wrong, rule in (
        ("NOSUCH999", "unknown"),
        ("x", "unknown"),
        (expired, "expired"),
        (code, "minimum_subtotal"),
    ):
        response = await client.post("/api/cart/coupon", json={"code": wrong}, headers=shopper)
        assert response.status_code == 422, response.text
        assert response.json()["rule"] == rule
        assert response.headers["content-type"] == "application/problem+json"

    await add(client, shopper, product, variant_id=small["id"], quantity=2)
    cart = (
        await client.post("/api/cart/coupon", json={"code": code.lower()}, headers=shopper)
    ).json()
    assert cart["coupon"] == {"code": code, "applies": True, "rule": None, "detail": None}
    assert (cart["subtotal"], cart["discount"], cart["total"]) == ("60.00", "6.00", "54.00")

    # The cart changes under the code: it stays, saying why it no longer applies.
    url = f"/api/cart/items/{small['id']}"
    cart = (await client.patch(url, json={"quantity": 1}, headers=shopper)).json()
    assert (cart["coupon"]["applies"], cart["coupon"]["rule"]) == (False, "minimum_subtotal")
    assert (cart["discount"], cart["total"]) == ("0.00", "20.00")

    cart = (await client.delete("/api/cart/coupon", headers=shopper)).json()
    assert cart["coupon"] is None


async def test_a_restricted_code_discounts_only_its_lines(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    shirt = await tee(client, admin)
    lamp = await create_product(client, admin, category="lighting", price="50.00")
    await set_stock(client, admin, lamp["sku"], 5)
    code = await coupon(client, admin, value="50", categories=["fashion"])
    await add(client, shopper, shirt, variant_id=shirt["variants"][1]["id"])
    await add(client, shopper, lamp)

    cart = (await client.post("/api/cart/coupon", json={"code": code}, headers=shopper)).json()

    assert (cart["subtotal"], cart["discount"], cart["total"]) == ("72.00", "11.00", "61.00")


async def test_concurrent_adds_never_pass_the_per_product_limit(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=50)
    small = product["variants"][0]

    responses = await asyncio.gather(
        *(add(client, shopper, product, variant_id=small["id"], quantity=3) for _ in range(8))
    )

    added = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} == {200, 422}
    cart = (await client.get("/api/cart", headers=shopper)).json()
    assert cart["items"][0]["quantity"] == 3 * len(added) == 9


async def test_guessing_codes_is_limited_per_cart_and_per_address(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    code = await coupon(client, admin)
    guesses = [f"GUESS{n:04d}" for n in range(10)]
    for guess in guesses:
        answer = await client.post("/api/cart/coupon", json={"code": guess}, headers=shopper)
        assert answer.status_code == 422, answer.text
    refused = await client.post("/api/cart/coupon", json={"code": code}, headers=shopper)
    assert refused.status_code == 429, "an eleventh code from one cart"
    assert int(refused.headers["retry-after"]) > 0
    # New guest carts for every guess: the address runs out at 30 codes.
    statuses = []
    for n in range(25):
        guest = await client.post("/api/cart/coupon", json={"code": f"GUEST{n:04d}"})
        statuses.append(guest.status_code)
    assert statuses == [422] * 20 + [429] * 5, "10 of this address's 30 went on the first cart"
